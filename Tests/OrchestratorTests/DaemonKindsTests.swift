import Foundation
import Logging
import Manifest
import OrchestrateTesting
import Testing

@testable import Orchestrator

@Suite("The built-in kinds")
struct DaemonKindsTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources").path

    /// A kind's name is written once, where it is declared: everything else (messages, the schema, the summary,
    /// the services' kind) takes it from the type.
    @Test func eachKindIsNamedOnceInTheSources() throws {
        var texts: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: Self.sources)
        while let relative = enumerator?.nextObject() as? String {
            guard relative.hasSuffix(".swift") else { continue }
            texts.append(try String(contentsOfFile: Self.sources + "/" + relative, encoding: .utf8))
        }
        #expect(texts.count > 100)
        for name in DaemonKinds.builtIn.names {
            let count = texts.map { $0.components(separatedBy: "\"\(name)\"").count - 1 }.reduce(0, +)
            #expect(count == 1, "\"\(name)\" is written \(count) times in Sources")
        }
    }

    @Test func onlyKindsThatRunOnTriggerCanBeTriggered() throws {
        let directory = try TemporaryDirectory(prefix: "kinds")
        defer { directory.remove() }
        let file = try directory.write("daemons.yaml", "daemons: {}\n")
        let supervisor = Supervisor(
            manifest: try ManifestLoader(file: file, kinds: .builtIn, environment: [:]).load().manifest,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        #expect(supervisor.triggerRefusal("tick", kind: PeriodicSpec.name) == nil)
        #expect(supervisor.triggerRefusal("atlas", kind: WatcherSpec.name) == nil)
        #expect(
            supervisor.triggerRefusal("core", kind: RPCSpec.name)
                == "'core' is an rpc daemon; only periodic and watcher daemons run on trigger"
        )
        #expect(
            supervisor.triggerRefusal("db", kind: ProcessSpec.name)
                == "'db' is a process daemon; only periodic and watcher daemons run on trigger"
        )
    }
}
