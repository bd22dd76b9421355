// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "orchestrate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "orchestrate", targets: ["orchestrate"]),
        .library(name: "DaemonKit", targets: ["DaemonKit"]),
        .library(name: "Manifest", targets: ["Manifest"]),
        .library(name: "Orchestrator", targets: ["Orchestrator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .target(name: "DaemonKit"),
        .target(name: "Manifest", dependencies: ["CYAML", "DaemonKit"]),
        .target(name: "Orchestrator", dependencies: ["Manifest", "DaemonKit"]),
        .executableTarget(
            name: "orchestrate",
            dependencies: [
                "Orchestrator",
                "Manifest",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "OrchestrateTesting", path: "Tests/OrchestrateTesting"),
        .testTarget(name: "DaemonKitTests", dependencies: ["DaemonKit", "OrchestrateTesting"]),
        .testTarget(name: "ManifestTests", dependencies: ["Manifest", "OrchestrateTesting"]),
        .testTarget(name: "OrchestratorTests", dependencies: ["Orchestrator", "OrchestrateTesting"]),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["orchestrate", "OrchestrateTesting"]
        ),
    ]
)

for target in package.targets where target.type != .system {
    target.swiftSettings =
        (target.swiftSettings ?? []) + [
            .enableUpcomingFeature("ExistentialAny"),
            .enableUpcomingFeature("MemberImportVisibility"),
        ]
}
