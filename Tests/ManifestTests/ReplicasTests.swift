import DaemonKit
import Orchestrator
import Testing

@testable import Manifest

/// `replicas: N` on process daemons: the copies the loader makes, and the counts `orchestrate scale` keeps.
@Suite("Replicas")
struct ReplicasTests {
    static let manifest = """
        daemons:
          web:
            kind: process
            replicas: 3
            command: "serve --port $$((8000 + ORCHESTRATE_REPLICA))"
          client:
            kind: process
            command: [sleep, '300']
            depends_on: [web]
        """

    @Test func aDaemonWithReplicasIsItsCopiesInItsPlace() throws {
        let manifest = try load(Self.manifest).manifest
        #expect(manifest.daemons.map(\.name) == ["web#1", "web#2", "web#3", "client"])
        #expect(manifest.daemons.map(\.replica) == [1, 2, 3, nil])
        #expect(manifest.daemons.map(\.group) == ["web", "web", "web", "client"])
        #expect(manifest.daemons.map { $0.environment["ORCHESTRATE_REPLICA"] } == ["1", "2", "3", nil])
        #expect(manifest.declaredReplicas == ["web": 3])
        #expect(manifest.members(of: "web").map(\.name) == ["web#1", "web#2", "web#3"])
        #expect(manifest.members(of: "web#2").map(\.name) == ["web#2"])
        #expect(manifest.members(of: "nope").isEmpty)
        // A dependency keeps the name the manifest gives, so that a new count changes no dependent.
        #expect(manifest[daemon: "client"]?.dependencies.map(\.name) == ["web"])
        let declared = manifest.declaredDaemons
        #expect(declared.map(\.name) == ["web", "client"])
        #expect(declared.first?.environment["ORCHESTRATE_REPLICA"] == nil)
        #expect(declared.first?.replica == nil)
    }

    @Test func scalingKeepsTheCopiesThatStayAndOnlyAddsOrDropsTheDifference() throws {
        let manifest = try load(Self.manifest).manifest
        let up = try #require(manifest.scaled("web", to: 5))
        #expect(up.daemons.map(\.name) == ["web#1", "web#2", "web#3", "web#4", "web#5", "client"])
        #expect(up.declaredReplicas["web"] == 3)
        #expect(up.members(of: "web").count == 5)
        #expect(up[daemon: "web#5"]?.environment["ORCHESTRATE_REPLICA"] == "5")
        let plan = ReloadPlan(from: manifest, to: up)
        #expect(plan.added == ["web#4", "web#5"])
        #expect(plan.changed.isEmpty && plan.removed.isEmpty && plan.restarted.isEmpty)

        let down = try #require(up.scaled("web", to: 1))
        let shrink = ReloadPlan(from: up, to: down)
        #expect(shrink.removed == ["web#2", "web#3", "web#4", "web#5"])
        #expect(shrink.unchanged == ["web#1", "client"])

        // A daemon run once becomes copy 1 of N.
        let client = try #require(manifest.scaled("client", to: 2))
        #expect(client.daemons.map(\.name).suffix(2) == ["client#1", "client#2"])
        #expect(client.declaredReplicas["client"] == nil)
        #expect(client.members(of: "client").map(\.name) == ["client#1", "client#2"])
        #expect(manifest.scaled("nope", to: 2) == nil)
    }

    @Test func aScaleHoldsUntilTheManifestsOwnReplicasChange() throws {
        var loader = ManifestLoader(file: "/project/daemons.yaml", fileLabel: "daemons.yaml", kinds: .builtIn)
        loader.scales = [
            "web": ReplicaScale(declared: 3, count: 5), "client": ReplicaScale(declared: nil, count: 2),
        ]
        let kept = try loader.load(bytes: Array(Self.manifest.utf8))
        #expect(kept.manifest.members(of: "web").count == 5)
        #expect(kept.manifest.members(of: "client").map(\.name) == ["client#1", "client#2"])
        #expect(kept.scales == loader.scales)

        let edited = Self.manifest.replacing("replicas: 3", with: "replicas: 2")
        let newer = try loader.load(bytes: Array(edited.utf8))
        #expect(newer.manifest.members(of: "web").count == 2, "the manifest's new count wins")
        #expect(newer.scales == ["client": ReplicaScale(declared: nil, count: 2)])

        // A scaled daemon that became another kind, or went away, drops its scale.
        let periodic = "daemons:\n  client: {kind: periodic, interval: 1h, command: x}\n"
        #expect(try loader.load(bytes: Array(periodic.utf8)).scales.isEmpty)
    }

    @Test func replicasIsAProcessField() {
        let periodic = errors(oneDaemon("job", "kind: periodic\ninterval: 1m\ncommand: x\nreplicas: 2"))
        #expect(periodic.map(\.message) == ["unknown key 'replicas' in a periodic daemon"])
        #expect(periodic.first?.suggestion == "'replicas' belongs to process daemons")
        let zero = errors(oneDaemon("web", "kind: process\ncommand: x\nreplicas: 0"))
        #expect(zero.map(\.message) == ["expected an integer from 1 to 1000, found 0"])
    }

    @Test func aSelectionKeepsEveryCopyOfADaemon() throws {
        let loader = ManifestLoader(
            file: "/project/daemons.yaml",
            fileLabel: "daemons.yaml",
            kinds: .builtIn,
            selection: DaemonSelection(only: ["client"])
        )
        let selected = try loader.load(bytes: Array(Self.manifest.utf8)).manifest
        #expect(selected.daemons.map(\.name) == ["web#1", "web#2", "web#3", "client"])
        let alone = try ManifestLoader(
            file: "/project/daemons.yaml",
            fileLabel: "daemons.yaml",
            kinds: .builtIn,
            selection: DaemonSelection(except: ["web"])
        ).load(bytes: Array(Self.manifest.utf8))
        #expect(alone.manifest.daemons.map(\.name) == ["client"])
        #expect(
            alone.warnings == ["client depends on 'web', which this supervisor does not run: it starts without waiting"]
        )
    }

    @Test func followersOfAnyCopyRestart() throws {
        let manifest = try load(
            Self.manifest.replacing("depends_on: [web]", with: "depends_on: [web]\n    restart_with_dependencies: true")
        ).manifest
        #expect(ReloadPlan.followers(of: ["web#2"], in: manifest) == ["client"])
    }
}
