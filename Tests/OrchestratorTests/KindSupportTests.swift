import Manifest
import Orchestrator
import Testing

@Suite("Kinds the supervisor can run")
struct KindSupportTests {
    private func manifest(_ yaml: String) throws -> Manifest {
        try ManifestLoader(file: "/project/daemons.yaml", fileLabel: "daemons.yaml", environment: [:])
            .load(bytes: Array(yaml.utf8)).manifest
    }

    @Test func aManifestUsingKindsThatCannotRunIsRefusedNamingEachDaemon() throws {
        let loaded = try manifest(
            """
            daemons:
              sync: {kind: periodic, interval: 5s, command: x}
              core: {kind: process, command: ["sleep", "300"]}
              off: {kind: watcher, command: x, enabled: false}
            """
        )
        let unsupported = KindSupport.unsupported(in: loaded).map(\.name)
        #expect(
            unsupported
                == ["sync", "core"].filter { name in
                    !KindSupport.runnable.contains(loaded[daemon: name]!.kindName)
                }
        )
        let refusal = try #require(KindSupport.refusal(for: loaded))
        for name in unsupported {
            #expect(refusal.contains("daemon '\(name)'"))
        }
        #expect(refusal.contains("daemon 'core' is a process daemon") == !KindSupport.runnable.contains("process"))
        #expect(!refusal.contains("'off'"))
    }

    @Test func periodicAndWatcherDaemonsRun() throws {
        let runnable = try manifest(
            "daemons:\n  a: {kind: periodic, interval: 5s, command: x}\n  b: {kind: watcher, command: x}\n"
        )
        #expect(KindSupport.refusal(for: runnable) == nil)
        #expect(KindSupport.refusal(for: try manifest("daemons: {}\n")) == nil)
    }
}
