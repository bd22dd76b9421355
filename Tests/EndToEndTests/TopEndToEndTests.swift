import Foundation
import OrchestrateTesting
import Testing

extension SupervisorBinaryTests {
    /// `orchestrate top` in a real terminal: tmux runs it, `send-keys` presses the keys and `capture-pane` reads the
    /// screen. The countdown moves with no event, a trigger's run appears, a broken save shows its error, and `q`
    /// leaves a clean terminal.
    @Suite("top, end to end", .serialized)
    struct TopEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests

        static let manifest = """
            daemons:
              tick:
                kind: periodic
                interval: 1h
                command: ["true"]
              slow:
                kind: periodic
                interval: 8s
                command: ["true"]
            """

        /// A tmux server of the test's own (its socket in the test's folder), ended by ``stop()``.
        struct Tmux {
            let socket: String

            /// Starts the server with session `top` running `command` in `folder`. The server must hold none of this
            /// process's descriptors (it would keep the pipes of the command that started it open for its whole life,
            /// and the wait for their end would never return): Python's subprocess closes them in the child.
            func start(_ command: String, in folder: String) throws {
                // Nor may it inherit the test process's blocked signals: the processes of its panes would then ignore
                // the SIGHUP of `kill-server`, which waits for them.
                let starter = """
                    import signal, subprocess, sys
                    signal.pthread_sigmask(signal.SIG_SETMASK, [])
                    sys.exit(subprocess.run(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, close_fds=True).returncode)
                    """
                let arguments = ["-S", socket, "new-session", "-d", "-s", "top", "-x", "150", "-y", "40", "-c", folder]
                let result = try TestProcess.run(
                    ["python3", "-c", starter, "tmux"] + arguments + [command],
                    deadline: .seconds(10)
                )
                #expect(result.status == 0, "\(result.stderr)")
            }

            @discardableResult
            func run(_ arguments: [String]) throws -> String {
                try TestProcess.run(["tmux", "-S", socket] + arguments, deadline: .seconds(10)).stdout
            }

            var screen: String { (try? run(["capture-pane", "-p", "-t", "top"])) ?? "" }

            func stop() {
                let result = try? TestProcess.run(["tmux", "-S", socket, "kill-server"], deadline: .seconds(10))
                #expect(result?.status == 0, "tmux kill-server: \(result?.stderr ?? "did not run")")
            }
        }

        @Test func keysCountdownErrorsAndACleanExit() async throws {
            try await Supervisor.withSupervisor(Self.manifest) { directory in
                let tmux = Tmux(socket: directory.url("tmux.sock"))
                defer { tmux.stop() }
                let command = "\(TestProcess.orchestrateBinary) top; echo top exited $?; sleep 60"
                try tmux.start(command, in: directory.path)
                #expect(await waitUntil(timeout: .seconds(20)) { tmux.screen.contains("> tick") }, "\(tmux.screen)")

                // The countdown moves once a second, though nothing happens in the supervisor.
                let first = Self.cell("slow", column: 7, in: tmux.screen)
                #expect(first?.hasPrefix("in ") == true, "\(tmux.screen)")
                #expect(
                    await waitUntil(timeout: .seconds(5)) { Self.cell("slow", column: 7, in: tmux.screen) != first }
                )

                // `t` triggers the selected daemon: its run shows.
                try tmux.run(["send-keys", "-t", "top", "t"])
                #expect(await waitUntil(timeout: .seconds(10)) { tmux.screen.contains("tick: trigger accepted") })
                #expect(
                    await waitUntil(timeout: .seconds(10)) { Self.cell("tick", column: 3, in: tmux.screen) == "1" },
                    "\(tmux.screen)"
                )
                // `j` selects the next one.
                try tmux.run(["send-keys", "-t", "top", "j"])
                #expect(await waitUntil(timeout: .seconds(10)) { tmux.screen.contains("> slow") })

                // A broken save shows its error; the next valid one clears it.
                try directory.write("daemons.yaml", Self.manifest + "\n  broken: {kind: periodic}\n")
                #expect(
                    await waitUntil(timeout: .seconds(10)) {
                        tmux.screen.contains("not applied; the daemons run the last valid version")
                            && tmux.screen.contains("daemons.broken: missing key 'command'")
                    },
                    "\(tmux.screen)"
                )
                try directory.write("daemons.yaml", Self.manifest + "\n")
                #expect(await waitUntil(timeout: .seconds(10)) { tmux.screen.contains("applied, ") })

                // `q`: the table goes with the alternate screen, and the shell's line shows top's exit status.
                try tmux.run(["send-keys", "-t", "top", "q"])
                #expect(await waitUntil(timeout: .seconds(10)) { tmux.screen.contains("top exited 0") })
                #expect(!tmux.screen.contains("NAME"), "\(tmux.screen)")
            }
        }

        /// The text of column `column` (0: NAME) of `name`'s row, the columns split at runs of 2 spaces.
        static func cell(_ name: String, column: Int, in screen: String) -> String? {
            for line in screen.split(separator: "\n") {
                let cells = line.dropFirst(2).components(separatedBy: "  ").map {
                    $0.trimmingCharacters(in: .whitespaces)
                }.filter { !$0.isEmpty }
                if cells.first == name, cells.count > column { return cells[column] }
            }
            return nil
        }
    }
}
