import DaemonKit
import Testing

@Suite struct RestartStateMachineTests {
    let base = ContinuousClock.now

    func at(_ seconds: Double) -> ContinuousClock.Instant { base + .seconds(seconds) }

    func machine(
        _ mode: RestartPolicy.Mode = .onFailure,
        initial: Duration = .seconds(1),
        max: Duration = .seconds(30),
        burst: Int = 1_000,
        window: Duration = .seconds(60)
    ) -> RestartStateMachine {
        RestartStateMachine(
            policy: RestartPolicy(mode: mode, initialBackoff: initial, maxBackoff: max, burst: burst, window: window)
        )
    }

    @Test func backoffDoublesUpToTheMaximum() {
        var machine = machine()
        var now = base
        var delays: [Duration] = []
        for _ in 0..<8 {
            machine.started(at: now)
            now += .milliseconds(100)
            guard case .restart(let delay) = machine.exited(at: now, failed: true) else {
                Issue.record("expected a restart, state \(machine.state)")
                return
            }
            #expect(machine.state == .backoff(until: now + delay))
            delays.append(delay)
            now += delay
        }
        #expect(delays == [1, 2, 4, 8, 16, 30, 30, 30].map { Duration.seconds($0) })
        #expect(machine.restarts == 8)
        #expect(machine.currentBackoff == .seconds(30))
    }

    @Test func backoffResetsAfterAHealthyStretchOfMaxBackoff() {
        var machine = machine()
        machine.started(at: at(0))
        #expect(machine.exited(at: at(0.1), failed: true) == .restart(after: .seconds(1)))
        machine.started(at: at(2))
        #expect(machine.exited(at: at(2.1), failed: true) == .restart(after: .seconds(2)))
        machine.started(at: at(5))
        // Up 29.9 s: just short of the 30 s maximum, so the backoff keeps growing.
        #expect(machine.exited(at: at(34.9), failed: true) == .restart(after: .seconds(4)))
        machine.started(at: at(40))
        #expect(machine.currentBackoff == .seconds(8))
        #expect(machine.exited(at: at(70), failed: true) == .restart(after: .seconds(1)))
        #expect(machine.currentBackoff == .seconds(2))
    }

    @Test func burstWithinTheWindowParksTheDaemonUntilReset() {
        var machine = machine(burst: 3, window: .seconds(60))
        machine.started(at: at(0))
        #expect(machine.exited(at: at(1), failed: true) == .restart(after: .seconds(1)))
        machine.started(at: at(2))
        #expect(machine.exited(at: at(3), failed: true) == .restart(after: .seconds(2)))
        machine.started(at: at(5))
        let action = machine.exited(at: at(6), failed: true)
        guard case .giveUp(let reason) = action else {
            Issue.record("expected to give up, got \(action)")
            return
        }
        #expect(reason == "3 exits within 1m")
        #expect(machine.state == .failed(reason: reason))
        #expect(machine.restarts == 2)
        // Parked: a stray exit report does not bring it back.
        #expect(machine.exited(at: at(7), failed: true) == .giveUp(reason: reason))
    }

    @Test func failuresSpreadBeyondTheWindowNeverPark() {
        var machine = machine(initial: .seconds(1), max: .seconds(1), burst: 3, window: .seconds(10))
        var now = base
        for _ in 0..<50 {
            machine.started(at: now)
            // Every failure comes 5.5 s after the last one: two fit in a 10 s window, never three.
            now += .seconds(4.5)
            #expect(machine.exited(at: now, failed: true) == .restart(after: .seconds(1)))
            now += .seconds(1)
        }
        #expect(machine.restarts == 50)
    }

    @Test func neverRestartsNothing() {
        var machine = machine(.never)
        machine.started(at: at(0))
        #expect(machine.exited(at: at(1), failed: false) == .stayStopped)
        #expect(machine.state == .stopped)
        machine.started(at: at(2))
        #expect(
            machine.exited(at: at(3), failed: true)
                == .giveUp(reason: "exited with a failure and the restart policy is never")
        )
        #expect(machine.state == .failed(reason: "exited with a failure and the restart policy is never"))
        #expect(machine.restarts == 0)
    }

    @Test func onFailureRestartsOnlyFailedExits() {
        var machine = machine(.onFailure)
        machine.started(at: at(0))
        #expect(machine.exited(at: at(1), failed: true) == .restart(after: .seconds(1)))
        machine.started(at: at(2))
        #expect(machine.exited(at: at(3), failed: false) == .stayStopped)
        #expect(machine.state == .stopped)
        #expect(machine.restarts == 1)
    }

    @Test func alwaysRestartsCleanExitsAndParksOnlyQuickOnes() {
        var quick = machine(.always, max: .seconds(10), burst: 3, window: .seconds(3_600))
        quick.started(at: at(0))
        #expect(quick.exited(at: at(1), failed: false) == .restart(after: .seconds(1)))
        quick.started(at: at(2))
        #expect(quick.exited(at: at(3), failed: false) == .restart(after: .seconds(2)))
        quick.started(at: at(5))
        #expect(quick.exited(at: at(6), failed: false) == .giveUp(reason: "3 exits within 1h"))

        // A service that does its work for a while and exits cleanly is restarted forever.
        var healthy = machine(.always, max: .seconds(10), burst: 3, window: .seconds(3_600))
        var now = base
        for _ in 0..<20 {
            healthy.started(at: now)
            now += .seconds(10)
            #expect(healthy.exited(at: now, failed: false) == .restart(after: .seconds(1)))
            now += .seconds(1)
        }
        #expect(healthy.restarts == 20)
    }

    @Test func requestedStopIsNeitherRestartedNorCounted() {
        var machine = machine(.always, burst: 1)
        machine.started(at: at(0))
        machine.stopRequested()
        #expect(machine.exited(at: at(1), failed: true) == .stayStopped)
        #expect(machine.state == .stopped)
        #expect(machine.restarts == 0)
        machine.started(at: at(2))
        #expect(machine.state == .running)
        #expect(machine.lastStart == at(2))
    }
}
