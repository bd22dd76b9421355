// swift-tools-version: 6.2
// An orchestrate with one more kind of daemon, `http-check` (README.md says how to write a kind). It depends on
// orchestrate by path; `name:` gives that package the identity `orchestrate` wherever the repository is cloned.
import PackageDescription

let package = Package(
    name: "custom-kind",
    platforms: [.macOS(.v15)],
    products: [
        // Not `orchestrate`: SwiftPM also builds the dependency's own `orchestrate` into the same folder.
        .executable(name: "orchestrate-custom", targets: ["OrchestrateCustom"]),
        .library(name: "HTTPCheck", targets: ["HTTPCheck"]),
    ],
    dependencies: [.package(name: "orchestrate", path: "../..")],
    targets: [
        .target(
            name: "HTTPCheck",
            dependencies: [
                .product(name: "DaemonKit", package: "orchestrate"),
                .product(name: "Manifest", package: "orchestrate"),
            ]
        ),
        .executableTarget(
            name: "OrchestrateCustom",
            dependencies: [
                "HTTPCheck",
                .product(name: "Manifest", package: "orchestrate"),
                .product(name: "Orchestrator", package: "orchestrate"),
                .product(name: "OrchestrateCLI", package: "orchestrate"),
            ]
        ),
    ]
)

for target in package.targets {
    target.swiftSettings =
        (target.swiftSettings ?? []) + [
            .enableUpcomingFeature("ExistentialAny"),
            .enableUpcomingFeature("MemberImportVisibility"),
        ]
}
