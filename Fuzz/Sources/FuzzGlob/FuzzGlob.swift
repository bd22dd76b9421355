import DaemonKit
import FuzzSupport

/// libFuzzer's entry: the first line is a glob pattern, each further line a path it is matched against.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGlob(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard let pattern = lines.first, let glob = try? Glob(pattern) else { return 0 }
    for path in lines.dropFirst() { _ = glob.matches(path) }
    return 0
}

@_cdecl("FuzzGlob_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzGlob)
}
