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
    let loader = ManifestLoader(
        file: "/fuzz/daemons.yaml",
        fileLabel: "daemons.yaml",
        environment: ["HOME": "/root", "EMPTY": "", "PORT": "8080"]
    )
    _ = try? loader.load(bytes: Array(yaml.utf8))
    return 0
}

// SwiftPM links an executable with `main` defined as `FuzzInterpolation_main`, so libFuzzer's own `main` is not used: this one
// hands control to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("FuzzInterpolation_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzInterpolation)
}
