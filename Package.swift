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
        .library(name: "OrchestrateCLI", targets: ["OrchestrateCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .target(name: "CSupport"),
        .target(
            name: "DaemonKit",
            dependencies: [
                "CSupport",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(name: "Manifest", dependencies: ["CYAML", "DaemonKit"]),
        .target(
            name: "Orchestrator",
            dependencies: [
                "Manifest", "DaemonKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "OrchestrateCLI",
            dependencies: [
                "Orchestrator",
                "Manifest",
                "DaemonKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "OrchestrateTLS",
            dependencies: [
                "Orchestrator",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "orchestrate",
            dependencies: ["OrchestrateCLI", "Orchestrator", "OrchestrateTLS"],
            // Linked by lld with packed relative relocations (glibc 2.36's DT_RELR): the binary's 69,000 relocations
            // take 14 KB instead of 1.6 MB, and the dynamic loader a third of the time, at every command's start.
            // Read-only data stays in the code's segment, as gold lays it out, so that the supervisor's MemoryRelease
            // lets go of both (in a segment of its own, 2.5 MiB more of it stayed resident).
            linkerSettings: [
                .unsafeFlags([
                    "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--no-rosegment",
                ])
            ]
        ),
        .target(name: "OrchestrateTesting", path: "Tests/OrchestrateTesting"),
        .testTarget(
            name: "DaemonKitTests",
            dependencies: ["DaemonKit", "OrchestrateTesting", .product(name: "Hummingbird", package: "hummingbird")]
        ),
        .testTarget(name: "ManifestTests", dependencies: ["Manifest", "Orchestrator", "OrchestrateTesting"]),
        .testTarget(
            name: "OrchestratorTests",
            dependencies: [
                "Orchestrator", "OrchestrateTesting", .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "orchestrate", "OrchestrateCLI", "OrchestrateTesting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
    ]
)

// The Swift settings below mean nothing to the C target.
let cTargets: Set<String> = ["CSupport"]
for target in package.targets where target.type != .system && !cTargets.contains(target.name) {
    target.swiftSettings =
        (target.swiftSettings ?? []) + [
            .enableUpcomingFeature("ExistentialAny"),
            .enableUpcomingFeature("MemberImportVisibility"),
        ]
}
