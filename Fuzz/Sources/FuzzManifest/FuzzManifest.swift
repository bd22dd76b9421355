import FuzzSupport
import Manifest

/// libFuzzer's entry: any bytes as a manifest file. Loading must end in a manifest or in errors, never in a crash,
/// a hang or unbounded memory.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    _ = try? fuzzLoader.load(bytes: bytes)
    return 0
}

@_cdecl("FuzzManifest_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzManifest)
}
