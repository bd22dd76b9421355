import DaemonKit
import Foundation
import Manifest
import Orchestrator
import Testing

@Suite("ReloadPlan")
struct ReloadPlanTests {
    private func manifest(_ yaml: String) throws -> Manifest {
        try ManifestLoader(file: "/project/daemons.yaml", fileLabel: "daemons.yaml", kinds: .builtIn, environment: [:])
            .load(bytes: Array(yaml.utf8)).manifest
    }

    private let base = """
        env: {REGION: eu}
        daemons:
          a: {kind: periodic, interval: 1m, command: "true"}
          b: {kind: periodic, interval: 1m, command: "true", env: {REGION: own}}
          c: {kind: periodic, interval: 1m, command: "true"}
        """

    @Test func sortsDaemonsIntoAddedRemovedChangedAndUnchanged() throws {
        let old = try manifest(base)
        let new = try manifest(
            """
            env: {REGION: eu}
            daemons:
              d: {kind: periodic, interval: 1m, command: "true"}
              a: {kind: periodic, interval: 2m, command: "true"}
              b: {kind: periodic, interval: 1m, command: "true", env: {REGION: own}}
            """
        )
        let plan = ReloadPlan(from: old, to: new)
        #expect(plan.added == ["d"])
        #expect(plan.changed == ["a"])
        #expect(plan.removed == ["c"])
        #expect(plan.unchanged == ["b"])
        #expect(plan.needsRestart.isEmpty)
        #expect(!plan.changesNothing)
        #expect(plan.lines == ["+ d", "~ a", "- c", "= b"])
    }

    @Test func aChangeUnderEnvReachesOnlyTheDaemonsThatTakeIt() throws {
        let plan = ReloadPlan(
            from: try manifest(base),
            to: try manifest(base.replacingOccurrences(of: "eu", with: "us"))
        )
        #expect(plan.changed == ["a", "c"])
        #expect(plan.unchanged == ["b"])
    }

    @Test func daemonsThatFollowAChangedDependencyRestartWithIt() throws {
        func version(_ tag: String) -> String {
            """
            daemons:
              db: {kind: process, command: [sleep, '300'], env: {TAG: \(tag)}}
              api: {kind: process, command: x, depends_on: [db], restart_with_dependencies: true}
              web: {kind: process, command: x, depends_on: [api], restart_with_dependencies: true}
              worker: {kind: process, command: x, depends_on: [db]}
              report: {kind: periodic, interval: 1m, command: x, depends_on: [worker], restart_with_dependencies: true}
            """
        }
        let plan = ReloadPlan(from: try manifest(version("1")), to: try manifest(version("2")))
        #expect(plan.changed == ["db"])
        // web follows api, which follows db; report follows worker, which does not follow db.
        #expect(plan.restarted == ["api", "web"])
        #expect(plan.unchanged == ["worker", "report"])
        #expect(plan.summary == "0 added, 1 changed, 2 restarted with a dependency, 0 removed, 2 unchanged")
        #expect(plan.lines.contains("↻ web (a dependency changed)"))
        #expect(ReloadPlan.followers(of: ["worker"], in: try manifest(version("1"))) == ["report"])
    }

    @Test func theSameManifestChangesNothing() throws {
        let plan = ReloadPlan(from: try manifest(base), to: try manifest(base))
        #expect(plan.changesNothing)
        #expect(plan.unchanged == ["a", "b", "c"])
    }

    @Test func stateDirAndControlWaitForDownAndUpWhileTheRestApplies() throws {
        let old = try manifest(base)
        let new = try manifest("state_dir: elsewhere\ncontrol: {http: \"127.0.0.1:9999\"}\n" + base)
        let plan = ReloadPlan(from: old, to: new)
        #expect(plan.needsRestart == ["state_dir", "control"])
        let applied = ReloadPlan.applicable(new, keeping: old)
        #expect(applied.stateDirectory == old.stateDirectory)
        #expect(applied.control == old.control)
        #expect(applied.daemons == new.daemons)
    }
}
