import DaemonKit
import Foundation
import Manifest
import Synchronization
import Testing

@testable import Orchestrator

/// The supervisor's decisions, driven by hand: no task, no process, no clock. Each test feeds events and reads the
/// actions, written compactly (`launch a#1`, `stop a`, `answer a`, `reload ok`…).
@Suite("Supervisor state machine")
struct SupervisorStateMachineTests {
    typealias Machine = SupervisorStateMachine<String>

    /// Replies and reload outcomes received, in order.
    final class Answers: Sendable {
        let received = Mutex<[String]>([])

        var all: [String] { received.withLock { $0 } }

        func reply(_ label: String) -> Machine.Reply {
            { result in
                self.received.withLock {
                    switch result {
                    case .success(let record): $0.append("\(label): \(record.name)")
                    case .failure(let failure): $0.append("\(label): \(failure.status) \(failure.message)")
                    }
                }
            }
        }

        func reload(_ origin: ReloadRequest.Origin = .api, _ label: String = "reload") -> ReloadRequest {
            ReloadRequest(origin: origin) { outcome in
                self.received.withLock {
                    $0.append("\(label): " + (outcome.ok ? "ok" : outcome.errors.joined(separator: "; ")))
                }
            }
        }
    }

    static func manifest(_ yaml: String) throws -> Manifest {
        try ManifestLoader(file: "/project/daemons.yaml", fileLabel: "daemons.yaml", kinds: .builtIn, environment: [:])
            .load(bytes: Array(yaml.utf8)).manifest
    }

    /// A machine for `yaml` whose enabled daemons' services are named `NAME-v1`, started with `up`.
    static func started(_ yaml: String) throws -> (Machine, [Machine.Action]) {
        let manifest = try manifest(yaml)
        let services = Dictionary(
            uniqueKeysWithValues: manifest.daemons.filter(\.enabled).map { ($0.name, "\($0.name)-v1") }
        )
        var machine = Machine(manifest: manifest, services: services)
        let actions = machine.handle(.up)
        return (machine, actions)
    }

    /// A prepared reload of `yaml` over the machine's manifest, with services named `NAME-v2`.
    static func prepared(_ machine: Machine, _ yaml: String) throws -> Machine.PreparedReload {
        let new = try manifest(yaml)
        let plan = ReloadPlan(from: machine.manifest, to: new)
        let services = Dictionary(
            uniqueKeysWithValues: (plan.added + plan.changed).compactMap { name in
                new[daemon: name].flatMap { $0.enabled ? (name, "\(name)-v2") : nil }
            }
        )
        return Machine.PreparedReload(
            manifest: ReloadPlan.applicable(new, keeping: machine.manifest),
            source: ManifestLoader(file: "/project/daemons.yaml", kinds: .builtIn),
            plan: plan,
            services: services
        )
    }

    /// The actions, compactly, answering `.answer` actions on the spot (as the supervisor's loop does).
    static func describe(_ actions: [Machine.Action]) -> [String] {
        actions.map { action in
            switch action {
            case .launch(let name, let generation, let service): "launch \(name)#\(generation) \(service)"
            case .stop(let name, _): "stop \(name)"
            case .register(let spec): "register \(spec.name)"
            case .remove(let name): "remove \(name)"
            case .reorder(let names): "reorder \(names.joined(separator: ","))"
            case .answer(let reply, .record(let name)):
                {
                    reply(.success(DaemonRecord(name: name, kind: "periodic")))
                    return "answer \(name)"
                }()
            case .answer(let reply, .failure(let failure)):
                {
                    reply(.failure(failure))
                    return "refuse \(failure.status)"
                }()
            case .prepareReload: "prepare"
            case .commit: "commit"
            case .finishReload(let request, let outcome, let record):
                {
                    request.reply?(outcome)
                    return "reload " + (outcome.ok ? "ok" : "refused") + (record ? " recorded" : "")
                }()
            case .restoreStateFolder: "restore"
            case .stopping: "stopping"
            case .finish: "finish"
            }
        }
    }

    static let three = """
        daemons:
          a: {kind: periodic, interval: 1h, command: "true"}
          b: {kind: periodic, interval: 1h, command: "true"}
          off: {kind: periodic, interval: 1h, command: "true", enabled: false}
        """

    /// ``three`` with `a`'s interval changed.
    static let threeWithAChanged = three.replacingOccurrences(
        of: "interval: 1h, command: \"true\"}\n  b",
        with: "interval: 2h, command: \"true\"}\n  b"
    )

    @Test func upRegistersEveryDaemonAndLaunchesTheEnabledOnesInOrder() throws {
        let (machine, actions) = try Self.started(Self.three)
        #expect(
            Self.describe(actions) == [
                "register a", "register b", "register off", "launch a#1 a-v1", "launch b#2 b-v1",
            ]
        )
        #expect(machine.runningNames == ["a", "b"])
    }

    /// web depends on api, which depends on db; lone on nothing.
    static let chain = """
        daemons:
          db: {kind: process, command: x}
          api: {kind: process, command: x, depends_on: [db]}
          web: {kind: process, command: x, depends_on: [api]}
          lone: {kind: process, command: x}
        """

    @Test func downStopsDependentsBeforeWhatTheyDependOnThenFinishes() throws {
        var (machine, _) = try Self.started(Self.chain)
        #expect(Self.describe(machine.handle(.down)) == ["stopping", "stop lone", "stop web"])
        #expect(Self.describe(machine.handle(.ended("web", generation: 3))) == ["stop api"])
        #expect(Self.describe(machine.handle(.ended("lone", generation: 4))).isEmpty)
        #expect(Self.describe(machine.handle(.ended("api", generation: 2))) == ["stop db"])
        #expect(Self.describe(machine.handle(.ended("db", generation: 1))) == ["finish"])
        // Nothing is started once `down` has begun.
        let answers = Answers()
        #expect(Self.describe(machine.handle(.start("db", answers.reply("start")))) == ["refuse 409"])
    }

    @Test func aReloadDuringDownIsRefusedAndNotRecorded() throws {
        var (machine, _) = try Self.started(Self.three)
        let answers = Answers()
        _ = machine.handle(.down)
        #expect(Self.describe(machine.handle(.reloadRequested(answers.reload()))) == ["reload refused"])
        #expect(answers.all == ["reload: the supervisor is stopping"])
    }

    @Test func downAnswersTheReloadBeingAppliedAndThoseWaiting() throws {
        var (machine, _) = try Self.started(Self.three)
        let answers = Answers()
        let first = answers.reload(.api, "first")
        #expect(Self.describe(machine.handle(.reloadRequested(first))) == ["prepare"])
        _ = machine.handle(.reloadRequested(answers.reload(.api, "second")))
        let changed = try Self.prepared(machine, Self.threeWithAChanged)
        #expect(
            Self.describe(machine.handle(.reloadPrepared(first, .success(changed)))) == [
                "commit", "stop a", "reorder a,b,off",
            ]
        )
        #expect(
            Self.describe(machine.handle(.down)) == [
                "reload refused", "reload refused", "stopping", "stop a", "stop b",
            ]
        )
        #expect(answers.all == ["first: the supervisor is stopping", "second: the supervisor is stopping"])
        // The changed daemon's old task ends during `down`: it is not started again.
        #expect(Self.describe(machine.handle(.ended("a", generation: 1))).isEmpty)
        #expect(Self.describe(machine.handle(.ended("b", generation: 2))) == ["finish"])
    }

    @Test func aBurstOfSavesCollapsesIntoOneReloadAfterTheOneInProgress() throws {
        var (machine, _) = try Self.started(Self.three)
        let answers = Answers()
        let first = answers.reload(.file, "save 1")
        #expect(Self.describe(machine.handle(.reloadRequested(first))) == ["prepare"])
        for index in 2...5 {
            #expect(Self.describe(machine.handle(.reloadRequested(answers.reload(.file, "save \(index)")))).isEmpty)
        }
        // An explicit `orchestrate reload` is not merged: its caller waits for its own outcome.
        #expect(Self.describe(machine.handle(.reloadRequested(answers.reload(.api, "command")))).isEmpty)
        let same = try Self.prepared(machine, Self.three)
        // The first is applied (nothing changed), then the one save that stands for the burst, then the command.
        #expect(
            Self.describe(machine.handle(.reloadPrepared(first, .success(same)))) == [
                "commit", "reorder a,b,off", "reload ok recorded", "prepare",
            ]
        )
        guard case .preparingReload(let second, let queued) = machine.state else {
            Issue.record("expected the next reload to be prepared, got \(machine.state)")
            return
        }
        #expect(second.origin == .file)
        #expect(queued.map(\.origin) == [.api])
        #expect(
            Self.describe(machine.handle(.reloadPrepared(second, .success(same)))).suffix(2) == [
                "reload ok recorded", "prepare",
            ]
        )
        #expect(answers.all == ["save 1: ok", "save 2: ok"])
    }

    @Test func aReloadThatCannotBePreparedChangesNothingAndIsRecorded() throws {
        var (machine, _) = try Self.started(Self.three)
        let answers = Answers()
        let request = answers.reload()
        _ = machine.handle(.reloadRequested(request))
        let refusal = Machine.ReloadRefusal(errors: ["daemons.yaml:3:5: bad"])
        #expect(
            Self.describe(machine.handle(.reloadPrepared(request, .failure(refusal)))) == ["reload refused recorded"]
        )
        #expect(answers.all == ["reload: daemons.yaml:3:5: bad"])
        #expect(machine.runningNames == ["a", "b"])
        guard case .running = machine.state else {
            Issue.record("expected running, got \(machine.state)")
            return
        }
    }

    @Test func aReloadStartsAddedStopsRemovedAndRestartsChangedOnceTheirOldTasksEnd() throws {
        var (machine, _) = try Self.started(Self.three)
        let answers = Answers()
        let request = answers.reload()
        _ = machine.handle(.reloadRequested(request))
        let new = try Self.prepared(
            machine,
            """
            daemons:
              c: {kind: periodic, interval: 1h, command: "true"}
              a: {kind: periodic, interval: 2h, command: "true"}
              off: {kind: periodic, interval: 1h, command: "true", enabled: false}
            """
        )
        #expect(
            Self.describe(machine.handle(.reloadPrepared(request, .success(new)))) == [
                "commit", "stop b", "stop a", "register c", "launch c#3 c-v2", "reorder c,a,off",
            ]
        )
        #expect(Self.describe(machine.handle(.ended("b", generation: 2))) == ["remove b"])
        #expect(answers.all.isEmpty)
        #expect(
            Self.describe(machine.handle(.ended("a", generation: 1))) == [
                "register a", "launch a#4 a-v2", "reload ok recorded",
            ]
        )
        #expect(answers.all == ["reload: ok"])
        #expect(machine.daemons["b"] == nil)
    }

    @Test func aReloadThatRemovesSeveralDaemonsStopsDependentsFirst() throws {
        var (machine, _) = try Self.started(Self.chain)
        let answers = Answers()
        let request = answers.reload()
        _ = machine.handle(.reloadRequested(request))
        let new = try Self.prepared(machine, "daemons:\n  lone: {kind: process, command: x}\n")
        #expect(
            Self.describe(machine.handle(.reloadPrepared(request, .success(new)))) == [
                "commit", "stop web", "reorder lone",
            ]
        )
        #expect(Self.describe(machine.handle(.ended("web", generation: 3))) == ["stop api", "remove web"])
        #expect(Self.describe(machine.handle(.ended("api", generation: 2))) == ["stop db", "remove api"])
        #expect(answers.all.isEmpty)
        #expect(Self.describe(machine.handle(.ended("db", generation: 1))) == ["remove db", "reload ok recorded"])
        #expect(answers.all == ["reload: ok"])
    }

    @Test func aDaemonEndingWhileItsReplacementIsPlannedIsReplacedAtOnce() throws {
        var (machine, _) = try Self.started(Self.three)
        let answers = Answers()
        let request = answers.reload()
        _ = machine.handle(.reloadRequested(request))
        // While the new manifest is being prepared, the old `a` gives up by itself.
        #expect(Self.describe(machine.handle(.ended("a", generation: 1))).isEmpty)
        let changed = try Self.prepared(machine, Self.threeWithAChanged)
        // Nothing to wait for: the new version starts at once, and the reload is done.
        #expect(
            Self.describe(machine.handle(.reloadPrepared(request, .success(changed)))) == [
                "commit", "register a", "launch a#3 a-v2", "reorder a,b,off", "reload ok recorded",
            ]
        )
        // A late report of the old task's end changes nothing.
        #expect(Self.describe(machine.handle(.ended("a", generation: 1))).isEmpty)
    }

    @Test func aStopDuringAReloadHoldsBackTheNewVersion() throws {
        var (machine, _) = try Self.started(Self.three)
        let answers = Answers()
        let request = answers.reload()
        _ = machine.handle(.reloadRequested(request))
        let changed = try Self.prepared(machine, Self.threeWithAChanged)
        #expect(
            Self.describe(machine.handle(.reloadPrepared(request, .success(changed)))) == [
                "commit", "stop a", "reorder a,b,off",
            ]
        )
        // `orchestrate stop a` while its old task stops for the reload: the new version is installed, not started.
        #expect(Self.describe(machine.handle(.stop("a", answers.reply("stop")))) == ["stop a", "answer a"])
        #expect(Self.describe(machine.handle(.ended("a", generation: 1))) == ["register a", "reload ok recorded"])
        #expect(machine.daemons["a"]?.service == "a-v2")
        #expect(machine.runningNames == ["b"])
        // A start runs the new version.
        #expect(Self.describe(machine.handle(.start("a", answers.reply("start")))) == ["launch a#3 a-v2", "answer a"])
    }

    @Test func restartWithDependenciesStopsTheFollowersAndStartsEachAgainAsItsTaskEnds() throws {
        var (machine, _) = try Self.started(
            """
            daemons:
              db: {kind: process, command: x}
              api: {kind: process, command: x, depends_on: [db], restart_with_dependencies: true}
              worker: {kind: process, command: x, depends_on: [db]}
            """
        )
        let answers = Answers()
        #expect(Self.describe(machine.handle(.restart("db", answers.reply("restart")))) == ["stop db", "stop api"])
        // The follower's task may end first: it starts again at once and waits for db there (its dependency gate).
        #expect(Self.describe(machine.handle(.ended("api", generation: 2))) == ["launch api#4 api-v1"])
        #expect(answers.all.isEmpty)
        #expect(Self.describe(machine.handle(.ended("db", generation: 1))) == ["launch db#5 db-v1", "answer db"])
        #expect(answers.all == ["restart: db"])
        #expect(machine.runningNames == ["api", "db", "worker"])
    }

    @Test func restartOfADaemonParkedFailedStartsItAtOnce() throws {
        var (machine, _) = try Self.started(Self.three)
        let answers = Answers()
        // Its service gave up (parked `failed`): its task ended by itself.
        #expect(Self.describe(machine.handle(.ended("a", generation: 1))).isEmpty)
        #expect(
            Self.describe(machine.handle(.restart("a", answers.reply("restart")))) == ["launch a#3 a-v1", "answer a"]
        )
        #expect(answers.all == ["restart: a"])
    }

    @Test func requestsForUnknownOrDisabledDaemonsAreRefused() throws {
        var (machine, _) = try Self.started(Self.three)
        let answers = Answers()
        _ = Self.describe(machine.handle(.start("aa", answers.reply("start"))))
        _ = Self.describe(machine.handle(.restart("off", answers.reply("restart"))))
        #expect(
            answers.all == [
                "start: 404 no daemon named 'aa'", "restart: 409 daemon 'off' is disabled in the manifest",
            ]
        )
    }
}
