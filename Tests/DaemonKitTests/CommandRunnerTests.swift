import DaemonKit
import Foundation
import OrchestrateTesting
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Real child processes. Serialized: the timing bounds should not depend on the other tests of the suite, and
/// some tests make the test process a child subreaper, which is process-global.
@Suite("CommandRunner", .serialized)
struct CommandRunnerTests {
    // MARK: - Forms, environment, output

    @Test func argvFormRunsTheProgramDirectly() async throws {
        let output = Output()
        let result = try await CommandRunner(.argv(["echo", "hello", "two words"])).run(output: output.append)
        #expect(result.termination == .exited(0))
        #expect(result.reason == .completed)
        #expect(result.succeeded)
        #expect(output.text == "hello two words\n")
    }

    @Test func shellFormRunsThroughBinSh() async throws {
        let output = Output()
        let result = try await CommandRunner(.shell("x=4; echo $((x * 2)) | tr 8 9; exit 3")).run(output: output.append)
        #expect(result.termination == .exited(3))
        #expect(result.exitCode == 3)
        #expect(!result.succeeded)
        #expect(output.text == "9\n")
    }

    @Test func workingDirectoryAndEnvironmentReachTheChild() async throws {
        let folder = try TemporaryDirectory(prefix: "runner-cwd")
        defer { folder.remove() }
        let output = Output()
        let runner = CommandRunner(
            .shell("pwd -P; echo \"$ORCH_ONE|$ORCH_TWO|$HOME\""),
            workingDirectory: folder.path,
            environment: ["ORCH_ONE": "first value", "ORCH_TWO": "2"]
        )
        let result = try await runner.run(output: output.append)
        #expect(result.succeeded)
        let expectedFolder = URL(fileURLWithPath: folder.path).resolvingSymlinksInPath().path
        let home = ProcessInfo.processInfo.environment["HOME"] ?? ""
        #expect(output.lines == [expectedFolder, "first value|2|\(home)"])
    }

    @Test func environmentPathFindsTheProgram() async throws {
        let folder = try TemporaryDirectory(prefix: "runner-path")
        defer { folder.remove() }
        // Written by a child process: a write descriptor of this process, copied into a child that another test
        // spawns meanwhile, would make the exec fail with ETXTBSY.
        let script = folder.url("orch-hello")
        try writeFromChild(script, "#!/bin/sh\necho found me\n")
        chmod(script, 0o755)
        let output = Output()
        let runner = CommandRunner(.argv(["orch-hello"]), environment: ["PATH": folder.path + ":/usr/bin:/bin"])
        let result = try await runner.run(output: output.append)
        #expect(result.succeeded)
        #expect(output.text == "found me\n")
    }

    @Test func stdoutAndStderrBothReachTheSinkInOrder() async throws {
        let output = Output()
        let script = "for i in 1 2 3; do echo out$i; echo err$i >&2; done"
        let result = try await CommandRunner(.shell(script)).run(output: output.append)
        #expect(result.succeeded)
        #expect(output.lines == ["out1", "err1", "out2", "err2", "out3", "err3"])
    }

    @Test func standardErrorCanHaveASinkOfItsOwn() async throws {
        let (output, errors) = (Output(), Output())
        let script = "cat; echo out; echo err >&2"
        let result = try await CommandRunner(.shell(script), standardInput: Array("in\n".utf8))
            .run(output: output.append, errorOutput: errors.append)
        #expect(result.succeeded)
        #expect(output.lines == ["in", "out"])
        #expect(errors.lines == ["err"])
    }

    @Test func largeOutputArrivesWhole() async throws {
        let output = Output()
        let result = try await CommandRunner(.shell("head -c 1000000 /dev/zero | tr '\\0' x")).run(
            output: output.append
        )
        #expect(result.succeeded)
        #expect(output.byteCount == 1_000_000)
        #expect(output.chunkCount > 1)
    }

    @Test func standardInputIsWrittenThenClosed() async throws {
        let output = Output()
        let input = Array("{\"jsonrpc\":\"2.0\"}\nsecond line\n".utf8)
        let result = try await CommandRunner(.argv(["cat"]), standardInput: input).run(output: output.append)
        #expect(result.succeeded)
        #expect(output.bytes == input)
        // More than the pipe holds: the rest is written while the child reads.
        let counted = Output()
        let big = try await CommandRunner(.shell("wc -c"), standardInput: [UInt8](repeating: 0x62, count: 3 << 20))
            .run(output: counted.append)
        #expect(big.succeeded)
        #expect(counted.text.trimmingCharacters(in: .whitespacesAndNewlines) == "\(3 << 20)")
        // Without input the child reads end-of-file at once instead of hanging.
        let empty = Output()
        let none = try await CommandRunner(.argv(["cat"]), timeout: .seconds(5)).run(output: empty.append)
        #expect(none.reason == .completed)
        #expect(empty.bytes.isEmpty)
    }

    @Test func standardInputToAChildThatDoesNotReadItIsHarmless() async throws {
        // More than a pipe holds, to a command that exits at once: the write fails, nobody gets SIGPIPE.
        let input = [UInt8](repeating: 0x61, count: 1 << 20)
        let result = try await CommandRunner(.shell("exit 4"), standardInput: input).run(output: { _ in })
        #expect(result.termination == .exited(4))
        // The child's SIGPIPE disposition is still the default one: `yes` dies of it when `head` goes.
        let output = Output()
        let piped = try await CommandRunner(.shell("yes | head -n 2")).run(output: output.append)
        #expect(piped.succeeded)
        #expect(output.lines == ["y", "y"])  // no "yes: standard output: Broken pipe"
    }

    // MARK: - Outcomes

    @Test func terminatingSignalIsReported() async throws {
        let result = try await CommandRunner(.shell("kill -USR1 $$; sleep 5")).run(output: { _ in })
        #expect(result.termination == .signaled(SIGUSR1))
        #expect(result.signal == SIGUSR1)
        #expect(result.exitCode == nil)
        #expect(result.reason == .completed)
    }

    @Test func missingProgramThrowsCommandNotFound() async throws {
        let error = await #expect(throws: DaemonKitError.self) {
            try await CommandRunner(.argv(["orch-no-such-program-here"])).run(output: { _ in })
        }
        #expect(error?.code == .commandNotFound)
        let relative = await #expect(throws: DaemonKitError.self) {
            try await CommandRunner(.argv(["./missing"]), workingDirectory: "/").run(output: { _ in })
        }
        #expect(relative?.code == .commandNotFound)
    }

    @Test func programsOnPathAreFoundAgainOnceInstalledOrRemoved() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        do {
            let (early, late) = (folder.url("early"), folder.url("late"))
            func install(_ word: String, in directory: String) throws {
                // Written by a child: a descriptor of this process open for writing could make the exec fail
                // (ETXTBSY) when another test's child inherits it.
                let path = directory + "/orch-which"
                try writeFromChild(path, "#!/bin/sh\necho \(word)\n")
                chmod(path, 0o755)
            }
            func run() async throws -> String {
                let output = Output()
                let runner = CommandRunner(
                    .argv(["orch-which"]),
                    environment: ["PATH": early + ":" + late + ":/usr/bin:/bin"]
                )
                _ = try await runner.run(output: output.append)
                return output.text
            }
            try install("late", in: late)
            #expect(try await run() == "late\n")
            #expect(try await run() == "late\n")
            // Installed earlier on PATH: found within the second a location is trusted.
            try install("early", in: early)
            let deadline = ContinuousClock.now + .seconds(5)
            while try await run() != "early\n", ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(try await run() == "early\n")
            // Removed: the next run looks again, at once.
            unlink(early + "/orch-which")
            #expect(try await run() == "late\n")
        }
    }

    @Test func missingWorkingDirectoryThrowsSpawnFailed() async throws {
        let error = await #expect(throws: DaemonKitError.self) {
            try await CommandRunner(.argv(["true"]), workingDirectory: "/no/such/folder/here").run(output: { _ in })
        }
        #expect(error?.code == .spawnFailed)
    }

    @Test func startCallbackReportsPidAndOwnGroupBeforeExit() async throws {
        let seen = Box<(pid: Int32, group: Int32, session: Int32, alive: Bool)?>(nil)
        let output = Output()
        let result = try await CommandRunner(.shell("echo $$")).run(
            onStart: { running in
                // Not reaped yet: the PID still names the child (running or a zombie).
                seen.withLock {
                    $0 = (running.pid, getpgid(running.pid), getsid(running.pid), kill(running.pid, 0) == 0)
                }
                #expect(running.processGroupID == running.pid)
            },
            output: output.append
        )
        let recorded = try #require(seen.withLock { $0 })
        #expect(recorded.alive)
        #expect(recorded.pid == result.pid)
        #expect(recorded.group == recorded.pid)
        #expect(recorded.session == recorded.pid)
        #expect(recorded.group != getpgrp())
        #expect(output.text == "\(result.pid)\n")
        #expect(result.processGroupID == result.pid)
    }

    @Test func fiftyConcurrentRunsAllComplete() async throws {
        let results = try await withThrowingTaskGroup(of: (Int, CommandRunResult, String).self) { group in
            for index in 0..<50 {
                group.addTask {
                    let output = Output()
                    let runner = CommandRunner(.shell("echo run$N; exit $((N % 7))"), environment: ["N": "\(index)"])
                    let result = try await runner.run(output: output.append)
                    return (index, result, output.text)
                }
            }
            var all: [(Int, CommandRunResult, String)] = []
            for try await item in group { all.append(item) }
            return all
        }
        #expect(results.count == 50)
        for (index, result, text) in results {
            #expect(result.termination == .exited(Int32(index % 7)))
            #expect(text == "run\(index)\n")
        }
        #expect(Set(results.map { $0.1.pid }).count == 50)
    }

    // MARK: - Timeout and stop

    @Test func timeoutStopsTheRunAndSaysSo() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let result = try await CommandRunner(
            .argv(["sleep", "30"]),
            timeout: .milliseconds(500),
            stopTimeout: .seconds(5)
        )
        .run(output: { _ in })
        let elapsed = clock.now - start
        #expect(result.timedOut)
        #expect(result.termination == .signaled(SIGTERM))
        // Ended by the SIGTERM at the timeout, not by the SIGKILL that would follow 5 s later. (Bounds in these tests
        // tell a wrong behaviour from the right one with room for a loaded machine; timings are `make bench`'s.)
        #expect(elapsed < .seconds(4))
        #expect(!ProcessGroup(id: result.processGroupID).exists)
    }

    @Test func stopKillsAWholeTreeThatIgnoresTheStopSignal() async throws {
        try ChildReaper.becomeSubreaper()
        let script = """
            trap '' TERM
            sh -c 'trap "" TERM; echo grandchild $$; while :; do sleep 1; done' &
            echo child $$
            while :; do sleep 1; done
            """
        let output = Output()
        let stopTimeout = Duration.milliseconds(500)
        let handle = Box<RunningCommand?>(nil)
        let clock = ContinuousClock()
        let stoppedAt = Box<ContinuousClock.Instant?>(nil)
        let result = try await withThrowingTaskGroup(of: CommandRunResult?.self) { group in
            group.addTask {
                try await CommandRunner(.shell(script), stopTimeout: stopTimeout)
                    .run(onStart: { running in handle.withLock { $0 = running } }, output: output.append)
            }
            group.addTask {
                // Stop once both processes have said they run (so both have set their signal dispositions) and
                // the handle has come: the output can arrive before `onStart` has run, and a stop without the
                // handle would be lost, leaving the tree running for ever.
                let ready = await waitUntil(timeout: .seconds(10)) {
                    let lines = output.lines
                    return lines.contains { $0.hasPrefix("grandchild ") } && lines.contains { $0.hasPrefix("child ") }
                        && handle.withLock { $0 } != nil
                }
                #expect(ready)
                // Without the handle, this throws: the group cancels the run, which ends the tree.
                let running = try #require(handle.withLock { $0 })
                stoppedAt.withLock { $0 = clock.now }
                running.stop()
                return nil
            }
            var result: CommandRunResult?
            for try await item in group where item != nil { result = item }
            return try #require(result)
        }
        let elapsed = clock.now - (try #require(stoppedAt.withLock { $0 }))
        #expect(result.reason == .stopped)
        #expect(result.termination == .signaled(SIGKILL))
        // SIGKILL at the stop timeout ends it; without the group kill the tree would never end.
        #expect(elapsed < stopTimeout + .seconds(5))
        #expect(elapsed >= stopTimeout)
        // The whole group, grandchild and its `sleep`s included, is gone: not even a zombie is left.
        errno = 0
        #expect(kill(-result.processGroupID, 0) == -1 && errno == ESRCH)
        #expect(!result.processGroupOutlivedRun)
        let grandchild = try #require(
            output.lines.first { $0.hasPrefix("grandchild ") }.flatMap { Int32($0.dropFirst(11)) }
        )
        #expect(kill(grandchild, 0) == -1)
    }

    @Test func aGrandchildLeftBehindByAFinishedCommandIsKilled() async throws {
        try ChildReaper.becomeSubreaper()
        let output = Output()
        // The child exits at once; its background grandchild ignores SIGTERM and would outlive it.
        let result = try await CommandRunner(.shell("trap '' TERM; sleep 30 >/dev/null 2>&1 & echo $!"))
            .run(output: output.append)
        #expect(result.succeeded)
        let grandchild = try #require(Int32(output.text.trimmingCharacters(in: .whitespacesAndNewlines)))
        errno = 0
        #expect(kill(grandchild, 0) == -1 && errno == ESRCH)
        #expect(!ProcessGroup(id: result.processGroupID).exists)
    }

    @Test func aWriterThatLeftTheGroupDoesNotHoldTheRunOpen() async throws {
        try ChildReaper.becomeSubreaper()
        // The escaped process keeps the output pipe open for 30 s; the run must end after the drain timeout.
        let script = """
            setsid sh -c 'echo escaped $$; exec sleep 30' </dev/null &
            until [ "$(cut -d' ' -f6 /proc/$!/stat)" = "$!" ]; do sleep 0.01; done
            echo done
            """
        let output = Output()
        let clock = ContinuousClock()
        let start = clock.now
        let result = try await CommandRunner(.shell(script), outputDrainTimeout: .milliseconds(200))
            .run(output: output.append)
        #expect(clock.now - start < .seconds(10), "the run ends long before the escaped writer's 30 s")
        #expect(result.succeeded)
        #expect(output.text.contains("done\n"))
        let escaped = try #require(pid(after: "escaped ", in: output.lines))
        #expect(isRunning(escaped))
        kill(escaped, SIGKILL)
        #expect(await waitUntil(timeout: .seconds(5)) { !isRunning(escaped) })
        ChildReaper.reapAdoptedOrphans(where: { $0 == escaped })
    }

    @Test func cancellingTheTaskStopsTheGroupAndStillReturnsAResult() async throws {
        let started = Box<Int32?>(nil)
        let task = Task {
            try await CommandRunner(.argv(["sleep", "30"]), stopTimeout: .seconds(5))
                .run(onStart: { running in started.withLock { $0 = running.pid } }, output: { _ in })
        }
        #expect(await waitUntil(timeout: .seconds(10)) { started.withLock { $0 } != nil })
        let clock = ContinuousClock()
        let start = clock.now
        task.cancel()
        let result = try await task.value
        #expect(clock.now - start < .seconds(4), "ended by SIGTERM, not by the SIGKILL 5 s later")
        #expect(result.reason == .cancelled)
        #expect(result.termination == .signaled(SIGTERM))
        #expect(!ProcessGroup(id: result.processGroupID).exists)
    }

    // MARK: - Scheduled starts

    @Test func aScheduledStartSpawnsWhenDueAndNotBefore() async throws {
        let clock = ContinuousClock()
        let due = clock.now + .milliseconds(300)
        var beganBeforeDue = true
        let began = Box<ContinuousClock.Instant?>(nil)
        let start = ScheduledStart(due: due) { began.withLock { $0 = ContinuousClock.now } }
        let result = try await CommandRunner(.argv(["true"])).run(
            at: start,
            onStart: { running in beganBeforeDue = running.startInstant < due },
            output: { _ in }
        )
        #expect(result.succeeded)
        #expect(!beganBeforeDue, "the child was spawned only once its instant had come")
        #expect(try #require(began.withLock { $0 }) >= due)
        #expect(!start.cancel(), "a spawn that has begun cannot be called off")
    }

    /// Called off long before its instant, by its owner or by the task's cancellation: the run ends at once, with
    /// nothing spawned.
    @Test(arguments: [false, true])
    func aScheduledStartCalledOffSpawnsNothing(byCancellingTheTask: Bool) async throws {
        let folder = try TemporaryDirectory(prefix: "runner-scheduled")
        defer { folder.remove() }
        let marker = folder.url("ran")
        let start = ScheduledStart(due: .now + .seconds(30))
        let task = Task {
            try await CommandRunner(.argv(["touch", marker])).run(at: start, output: { _ in })
        }
        let clock = ContinuousClock()
        let begin = clock.now
        if byCancellingTheTask {
            task.cancel()
        } else {
            try await Task.sleep(for: .milliseconds(50))
            #expect(start.cancel())
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(clock.now - begin < .seconds(5))
        #expect(!FileManager.default.fileExists(atPath: marker))
        #expect(!start.cancel(), "called off once")
    }

    @Test func manyStartsDueAtOneInstantAllRunAndEarlierOnesFirst() async throws {
        let due = ContinuousClock.now + .milliseconds(500)
        let order = Box<[Int]>([])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                // Ten of them due 250 ms earlier, queued last: they are spawned first all the same.
                let start = ScheduledStart(due: index >= 30 ? due - .milliseconds(250) : due) {
                    order.withLock { $0.append(index) }
                }
                group.addTask {
                    let result = try await CommandRunner(.argv(["true"])).run(at: start, output: { _ in })
                    #expect(result.succeeded)
                }
            }
            try await group.waitForAll()
        }
        let began = order.withLock { $0 }
        #expect(began.count == 40)
        #expect(Set(began.prefix(10)) == Set(30..<40))
    }

    @Test func stopAfterTheRunEndedIsHarmless() async throws {
        let handle = Box<RunningCommand?>(nil)
        let result = try await CommandRunner(.argv(["true"]))
            .run(onStart: { running in handle.withLock { $0 = running } }, output: { _ in })
        #expect(result.reason == .completed)
        handle.withLock { $0 }?.stop()
    }

    // MARK: - Parent-death signal

    @Test func theChildHasTheParentDeathSignalArmed() async throws {
        let query = "import ctypes; v = ctypes.c_int(); ctypes.CDLL(None).prctl(2, ctypes.byref(v)); print(v.value)"
        let armed = Output()
        let handle = Box<RunningCommand?>(nil)
        let result = try await CommandRunner(.argv(["python3", "-c", query]))
            .run(onStart: { running in handle.withLock { $0 = running } }, output: armed.append)
        #expect(result.succeeded)
        #expect(armed.text == "\(SIGKILL)\n")  // PR_GET_PDEATHSIG as seen by the command itself
        #expect(handle.withLock { $0 }?.parentDeathSignal == .kill)

        let unarmed = Output()
        let plain = try await CommandRunner(.argv(["python3", "-c", query]), parentDeathSignal: nil)
            .run(output: unarmed.append)
        #expect(plain.succeeded)
        #expect(unarmed.text == "0\n")
    }

    // A child dying with its SIGKILLed parent is checked end to end, with the supervisor as the parent:
    // `SupervisorEndToEndTests.childrenDieWithAKilledSupervisorAndTheNextUpIsClean`.

    @Test func anExecThatFailsIsASpawnErrorWithItsReason() async throws {
        let folder = try TemporaryDirectory(prefix: "runner-exec")
        defer { folder.remove() }
        // Executable by its mode, but no format the kernel can run: the exec itself fails (ENOEXEC), in the child.
        let program = folder.url("not-a-program")
        try writeFromChild(program, "\u{7F}ELF but not really")  // not from this process: see above
        chmod(program, 0o755)
        let failure = await #expect(throws: DaemonKitError.self) {
            try await CommandRunner(.argv([program])).run(output: { _ in })
        }
        #expect(failure?.code == .spawnFailed)
        #expect(failure?.errno == ENOEXEC)
    }

    // MARK: - Reaping

    @Test func subreaperAdoptsAndReapsAnOrphanThatLeftTheGroup() async throws {
        try ChildReaper.becomeSubreaper()
        #expect(ChildReaper.isSubreaper)
        let output = Output()
        // The child starts a `sleep` that makes itself a session leader, waits until it has, then exits.
        let script = """
            setsid sleep 0.5 </dev/null >/dev/null 2>&1 &
            until [ "$(cut -d' ' -f6 /proc/$!/stat)" = "$!" ]; do sleep 0.01; done
            echo $!
            """
        let result = try await CommandRunner(.shell(script)).run(output: output.append)
        #expect(result.succeeded)
        let orphan = try #require(Int32(output.text.trimmingCharacters(in: .whitespacesAndNewlines)))
        // It escaped the group kill, was adopted by this process, and exits into a zombie only we can reap.
        #expect(await waitUntil(timeout: .seconds(5)) { processState(orphan) == "Z" })
        #expect(parentOf(orphan) == getpid())
        // Other tests spawn at the same time; a reap during a spawn in flight is deferred, so ask until one is not.
        var reaped: [Int32] = []
        #expect(
            await waitUntil(timeout: .seconds(5)) {
                let report = ChildReaper.reapAdoptedOrphans(where: { $0 == orphan })
                reaped += report.reaped
                return !report.deferred
            }
        )
        #expect(reaped == [orphan])
        errno = 0
        #expect(kill(orphan, 0) == -1 && errno == ESRCH)
    }

    @Test func theReaperNeverStealsTheExitStatusOfARunningCommand() async throws {
        let folder = try TemporaryDirectory(prefix: "runner-reap")
        defer { folder.remove() }
        // A distinct command name, so the reaper below may reap our runs' children and nobody else's.
        let probe = folder.url("orch-reap-probe")
        try FileManager.default.createSymbolicLink(atPath: probe, withDestinationPath: "/bin/sh")
        let done = Box<Bool>(false)
        let results = try await withThrowingTaskGroup(of: [CommandRunResult].self) { group in
            group.addTask {
                var reaped = 0
                while !done.withLock({ $0 }) {
                    reaped +=
                        ChildReaper.reapAdoptedOrphans(where: { commandName(of: $0) == "orch-reap-probe" })
                        .reaped.count
                    await Task.yield()
                }
                #expect(reaped == 0)
                return []
            }
            group.addTask {
                defer { done.withLock { $0 = true } }
                return try await withThrowingTaskGroup(of: CommandRunResult.self) { runs in
                    for _ in 0..<40 {
                        runs.addTask { try await CommandRunner(.argv([probe, "-c", "exit 7"])).run(output: { _ in }) }
                    }
                    var all: [CommandRunResult] = []
                    for try await result in runs { all.append(result) }
                    return all
                }
            }
            var all: [CommandRunResult] = []
            for try await batch in group { all += batch }
            return all
        }
        #expect(results.count == 40)
        #expect(results.allSatisfy { $0.termination == .exited(7) })
    }
}

// MARK: - Helpers

/// Collects what a run prints, from the runner's output queue.
private final class Output: Sendable {
    private let storage = Mutex<(bytes: [UInt8], chunks: Int)>(([], 0))

    var append: @Sendable (ArraySlice<UInt8>) -> Void {
        { chunk in
            self.storage.withLock {
                $0.bytes += chunk
                $0.chunks += 1
            }
        }
    }

    var bytes: [UInt8] { storage.withLock { $0.bytes } }
    var byteCount: Int { storage.withLock { $0.bytes.count } }
    var chunkCount: Int { storage.withLock { $0.chunks } }
    var text: String { String(decoding: bytes, as: UTF8.self) }
    var lines: [String] { text.split(separator: "\n").map(String.init) }
}

/// A mutable value shared between a test and the closures it hands out.
private final class Box<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ value: Value) { self.value = Mutex(value) }

    func withLock<Result>(_ body: (inout Value) -> Result) -> Result { value.withLock { body(&$0) } }
}

private func pid(after prefix: String, in lines: [String]) -> Int32? {
    lines.first { $0.hasPrefix(prefix) }.flatMap { Int32($0.dropFirst(prefix.count)) }
}

/// The fields of /proc/PID/stat after the command name: state, ppid, …; nil once the process is gone.
private func statFields(_ pid: Int32) -> [Substring]? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return nil }
    return stat[stat.index(after: close)...].split(separator: " ")
}

private func processState(_ pid: Int32) -> String? { statFields(pid).map { String($0[0]) } }

private func parentOf(_ pid: Int32) -> Int32? { statFields(pid).flatMap { Int32($0[1]) } }

/// Alive and not a zombie.
private func isRunning(_ pid: Int32) -> Bool {
    guard let state = processState(pid) else { return false }
    return state != "Z" && state != "X"
}

private func commandName(of pid: Int32) -> String? {
    (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?
        .trimmingCharacters(in: .whitespacesAndNewlines)
}
