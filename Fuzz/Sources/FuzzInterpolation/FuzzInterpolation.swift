import FuzzSupport
import Manifest

/// libFuzzer's entry: any text as the value of a command, so that it goes through `${…}` interpolation (and
/// the rest of loading) as a literal block scalar.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInterpolation(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let body = text.split(separator: "\n", omittingEmptySubsequences: false).map { "      " + $0 }.joined(
        separator: "\n"
    )
    let yaml = "daemons:\n  a:\n    kind: periodic\n    interval: 1h\n    command: |-\n" + body + "\n"
    _ = try? fuzzLoader.load(bytes: Array(yaml.utf8))
    return 0
}

@_cdecl("FuzzInterpolation_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzInterpolation)
}
