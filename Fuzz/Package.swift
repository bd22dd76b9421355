// swift-tools-version: 6.2
// libFuzzer targets over the manifest loader, interpolation and globs (issue 7). Built apart from the product, with
// every Swift module instrumented: `make fuzz` (see the Makefile) runs
//   swift build -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
// here. deps/orchestrate is a link to the repository, so the package's identity is `orchestrate` wherever it is
// cloned.
import PackageDescription

let package = Package(
    name: "orchestrate-fuzz",
    dependencies: [.package(path: "deps/orchestrate")],
    targets: [
        .target(
            name: "FuzzSupport",
            dependencies: [
                .product(name: "Manifest", package: "orchestrate"),
                .product(name: "Orchestrator", package: "orchestrate"),
            ]
        ),
        .executableTarget(
            name: "FuzzManifest",
            dependencies: ["FuzzSupport", .product(name: "Manifest", package: "orchestrate")]
        ),
        .executableTarget(
            name: "FuzzInterpolation",
            dependencies: ["FuzzSupport", .product(name: "Manifest", package: "orchestrate")]
        ),
        .executableTarget(
            name: "FuzzGlob",
            dependencies: ["FuzzSupport", .product(name: "DaemonKit", package: "orchestrate")]
        ),
    ]
)
