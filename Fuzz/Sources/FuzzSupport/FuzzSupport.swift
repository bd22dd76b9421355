import Manifest
import Orchestrator

/// The loader the manifest and interpolation fuzzers feed, with a few variables to interpolate and one override.
public let fuzzLoader = ManifestLoader(
    file: "/fuzz/daemons.yaml",
    fileLabel: "daemons.yaml",
    kinds: .builtIn,
    environment: ["HOME": "/root", "EMPTY": "", "PORT": "8080", "ORCHESTRATE__DAEMONS__A__INTERVAL": "5s"]
)

@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

/// Hands control to libFuzzer's driver with `callback` as the entry. SwiftPM links an executable with `main`
/// defined as `MODULE_main`, so libFuzzer's own `main` is not used: each target's `MODULE_main` calls this.
public func runFuzzer(
    _ argc: CInt,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, callback)
}
