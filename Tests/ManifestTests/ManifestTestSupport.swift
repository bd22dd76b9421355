import Orchestrator
import Testing

@testable import Manifest

/// Loads `yaml` as `/project/daemons.yaml` (labelled `daemons.yaml`) without touching the disk.
func load(_ yaml: String, environment: [String: String] = [:], set: [String] = []) throws -> LoadedManifest {
    try ManifestLoader(
        file: "/project/daemons.yaml",
        fileLabel: "daemons.yaml",
        kinds: .builtIn,
        environment: environment,
        setArguments: set
    ).load(bytes: Array(yaml.utf8))
}

/// The errors loading `yaml` gives; records a test failure if it loads.
func errors(
    _ yaml: String,
    environment: [String: String] = [:],
    set: [String] = [],
    sourceLocation: SourceLocation = #_sourceLocation
) -> [ManifestError] {
    do {
        _ = try load(yaml, environment: environment, set: set)
        Issue.record("expected the manifest to be rejected", sourceLocation: sourceLocation)
        return []
    } catch let failure as ManifestErrors {
        return failure.errors
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        return []
    }
}

/// A manifest with one daemon whose body is `body` (indented under it).
func oneDaemon(_ name: String = "job", _ body: String) -> String {
    "daemons:\n  \(name):\n"
        + body.split(separator: "\n", omittingEmptySubsequences: false).map { "    " + $0 }
        .joined(separator: "\n") + "\n"
}

extension ValueOrigin {
    /// The line and column of a file origin.
    var position: (line: Int, column: Int)? {
        if case .file(_, let line, let column) = self { return (line, column) }
        return nil
    }
}
