import Manifest

/// libFuzzer's entry: any bytes as a manifest file. Loading must end in a manifest or in errors, never in a crash,
/// a hang or unbounded memory.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let loader = ManifestLoader(
        file: "/fuzz/daemons.yaml",
        fileLabel: "daemons.yaml",
        environment: ["HOME": "/root", "PORT": "8080", "ORCHESTRATE__DAEMONS__A__INTERVAL": "5s"]
    )
    _ = try? loader.load(bytes: bytes)
    return 0
}

// SwiftPM links an executable with `main` defined as `FuzzManifest_main`, so libFuzzer's own `main` is not used: this one
// hands control to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("FuzzManifest_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzManifest)
}
