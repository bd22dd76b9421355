import ArgumentParser
import DaemonKit
import Dispatch
import FoundationEssentials
import Orchestrator
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top",
        abstract: "A live view of the daemons: select one and trigger, restart, stop or start it, or follow its log.",
        discussion: """
            The status table, redrawn on every event of the supervisor and once a second (the relative times), with \
            the last reload and its errors. Keys: up and down (or j and k) select a daemon; t triggers it, r restarts \
            it, s stops or starts it, l shows its log below the table (following it), R reloads the manifest, q (or \
            Ctrl-C) quits. It fits the window and redraws when the window changes; NO_COLOR turns the colours off. \
            Without a terminal, it is `status --watch`.

            Exit status: 0 quit (or the supervisor stopped); 3 no supervisor runs for this manifest.
            """
    )

    @OptionGroup var manifest: ManifestOptions

    func run() throws {
        let context = try ControlContext(manifest)
        let interactive = isatty(0) == 1 && isatty(1) == 1
        try LiveStatus(context: context, interactive: interactive, only: nil).run()
    }
}

/// The table of `status --watch` and `orchestrate top`, kept up to date from the event stream (records, removals,
/// reloads) and redrawn on each event and once a second; with `interactive`, the keys of `top` too. One loop owns
/// the screen: it waits (`poll`) on the keyboard and on a pipe that the event reader, the signals and the window's
/// changes write to, with a one-second timeout for the clock. Nothing here wakes the supervisor.
final class LiveStatus: @unchecked Sendable {
    // Safe: `incoming` is a Mutex; every other property is touched by the loop's thread alone.
    private let context: ControlContext
    private let interactive: Bool
    private let only: String?
    private var document: StatusDocument
    private var selected: String?
    private var showsLog = false
    private var message = ""
    private var ended = false
    private let incoming = Mutex<[EventLine]>([])
    private let streamEnded = Atomic<Bool>(false)
    /// Written to wake the loop: an event came, a signal, the window changed.
    private let wake: (read: Int32, write: Int32)
    private var signals: [any DispatchSourceSignal] = []
    private let quitting = Atomic<Bool>(false)

    init(context: ControlContext, interactive: Bool, only: String?) throws {
        self.context = context
        self.interactive = interactive
        self.only = only
        let first: StatusDocument
        do {
            first = try context.client.status()
        } catch {
            throw context.fail(error)
        }
        document = first
        if let only, first.records(named: only).isEmpty {
            throw CommandFailure.usage("no daemon named '\(only)'")
        }
        selected = only.flatMap { first.records(named: $0).first?.name } ?? first.daemons.first?.name
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw CommandFailure.failure("cannot make a pipe") }
        _ = fcntl(fds[0], F_SETFL, O_NONBLOCK)
        _ = fcntl(fds[1], F_SETFL, O_NONBLOCK)
        wake = (fds[0], fds[1])
    }

    deinit {
        close(wake.read)
        close(wake.write)
    }

    /// Runs until `q`, a signal, or the supervisor stopping.
    func run() throws {
        let terminal = interactive ? RawTerminal() : nil
        defer { terminal?.restore() }
        watchSignals()
        startReading()
        while !quitting.load(ordering: .relaxed) {
            drainEvents()
            draw()
            if ended { break }
            waitForInput(timeout: showsLog ? 500 : 1_000)
        }
        for source in signals { source.cancel() }
    }

    // MARK: Input

    private func startReading() {
        let client = context.client
        NamedThread.start(named: "events") { [self] in
            try? client.events(EventQuery(format: .jsonl, records: false, follow: true)) { line, _ in
                incoming.withLock { $0.append(line) }
                poke()
                return !quitting.load(ordering: .relaxed)
            }
            streamEnded.store(true, ordering: .relaxed)
            poke()
        }
    }

    private func watchSignals() {
        for number in [SIGWINCH, SIGINT, SIGTERM, SIGHUP] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in
                if number != SIGWINCH { quitting.store(true, ordering: .relaxed) }
                poke()
            }
            source.resume()
            signals.append(source)
        }
    }

    private func poke() {
        var byte: UInt8 = 1
        _ = write(wake.write, &byte, 1)
    }

    /// Waits for a key, a poke or the timeout; handles the keys.
    private func waitForInput(timeout: Int32) {
        var fds = [pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0)]
        if interactive { fds.append(pollfd(fd: 0, events: Int16(POLLIN), revents: 0)) }
        guard poll(&fds, nfds_t(fds.count), timeout) > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 64)
        if fds[0].revents != 0 { while read(wake.read, &buffer, buffer.count) > 0 {} }
        if interactive, fds[1].revents != 0 {
            let count = read(0, &buffer, buffer.count)
            if count > 0 { handle(keys: Array(buffer[..<count])) }
        }
    }

    private func handle(keys: [UInt8]) {
        var index = 0
        while index < keys.count {
            let key = keys[index]
            index += 1
            if key == 0x1B, index + 1 < keys.count, keys[index] == UInt8(ascii: "[") {
                let arrow = keys[index + 1]
                index += 2
                if arrow == UInt8(ascii: "A") { move(-1) } else if arrow == UInt8(ascii: "B") { move(1) }
                continue
            }
            switch key {
            case UInt8(ascii: "q"), 3: quitting.store(true, ordering: .relaxed)
            case UInt8(ascii: "k"): move(-1)
            case UInt8(ascii: "j"): move(1)
            case UInt8(ascii: "t"): act("trigger")
            case UInt8(ascii: "r"): act("restart")
            case UInt8(ascii: "s"): act("stop or start")
            case UInt8(ascii: "l"): showsLog.toggle()
            case UInt8(ascii: "R"): reload()
            default: break
            }
        }
    }

    private func move(_ step: Int) {
        let names = shown.map(\.name)
        guard !names.isEmpty else { return }
        let current = selected.flatMap { names.firstIndex(of: $0) } ?? 0
        selected = names[min(max(current + step, 0), names.count - 1)]
    }

    private func act(_ action: String) {
        guard let name = selected, let record = document.daemons.first(where: { $0.name == name }) else { return }
        do {
            switch action {
            case "trigger":
                let outcome = try context.client.trigger(name, wait: false)
                message = "\(name): trigger \(outcome.outcome.rawValue)"
            case "restart":
                _ = try context.client.lifecycle("restart", name)
                message = "\(name): restarting"
            default:
                let stopped = [DaemonRecord.State.stopped, .failed, .completed, .disabled].contains(record.state)
                _ = try context.client.lifecycle(stopped ? "start" : "stop", name)
                message = "\(name): \(stopped ? "starting" : "stopping")"
            }
        } catch {
            message = "\(name): \(error)"
        }
    }

    private func reload() {
        do {
            let outcome = try context.client.reload(ReloadBody())
            message = outcome.ok ? "reloaded" : "not reloaded: the manifest is not valid (the errors are above)"
        } catch {
            message = "not reloaded: \(error)"
        }
    }

    // MARK: The model

    private var shown: [DaemonRecord] { only.map { document.records(named: $0) } ?? document.daemons }

    private func drainEvents() {
        let lines = incoming.withLock { lines in
            defer { lines.removeAll() }
            return lines
        }
        for line in lines {
            switch line.data {
            case .record(let record):
                if let index = document.daemons.firstIndex(where: { $0.name == record.name }) {
                    document.daemons[index] = record
                } else {
                    document.daemons.append(record)
                }
            case .state(let change) where line.event == "removed":
                document.daemons.removeAll { $0.name == change.name }
                if selected == change.name { selected = document.daemons.first?.name }
            case .reload(let report):
                document.lastReload = report
                // A reload may add daemons, and order them: the manifest's order, from the status.
                if report.ok, let fresh = try? context.client.status() { document = fresh }
            default:
                break
            }
        }
        if streamEnded.load(ordering: .relaxed), incoming.withLock({ $0.isEmpty }) { ended = true }
    }

    // MARK: The screen

    private func draw() {
        let colour = Terminal.usesColour
        let size = Self.windowSize()
        var text = StatusTable.render(
            document,
            only: only,
            colour: colour,
            selected: interactive ? .some(selected) : nil
        )
        if ended { text += "\nthe supervisor stopped\n" }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if interactive {
            if showsLog, let name = selected {
                let room = max(3, size.rows - lines.count - 4)
                lines.append(Self.rule(" log: \(name) ", width: size.columns))
                lines += RotatingLogFile.tail(path: logPath(name), lines: room)
            }
            lines.append("")
            lines.append(message)
            lines.append("↑/↓ select  t trigger  r restart  s stop/start  l log  R reload  q quit")
        }
        let fitted = lines.prefix(interactive || Terminal.isTTY ? size.rows : lines.count).map {
            Self.truncate($0, to: size.columns)
        }
        if Terminal.isTTY {
            Terminal.out("\u{1B}[H\u{1B}[2J" + fitted.joined(separator: "\r\n"))
        } else {
            Terminal.out(fitted.joined(separator: "\n") + "\n\n")
        }
    }

    private func logPath(_ name: String) -> String {
        document.supervisor.stateDirectory + "/logs/\(name).log"
    }

    static func rule(_ title: String, width: Int) -> String {
        "──" + title + String(repeating: "─", count: max(0, width - title.count - 2))
    }

    /// The window's rows and columns (24 × 80 when it cannot be read).
    static func windowSize() -> (rows: Int, columns: Int) {
        var size = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_row > 0, size.ws_col > 0 else { return (24, 80) }
        return (Int(size.ws_row), Int(size.ws_col))
    }

    /// `line` cut to `width` visible characters, its ANSI escapes kept (and reset when it was cut).
    static func truncate(_ line: String, to width: Int) -> String {
        var visible = 0
        var out = ""
        var escape = false
        for character in line {
            if character == "\u{1B}" {
                escape = true
            } else if escape {
                if character.isLetter { escape = false }
            } else {
                if visible == width { return out + (line.contains("\u{1B}") ? "\u{1B}[0m" : "") }
                visible += 1
            }
            out.append(character)
        }
        return out
    }
}

/// The terminal in raw mode, on the alternate screen, the cursor hidden, until ``restore()``.
final class RawTerminal {
    private var original = termios()
    private var restored = false

    init() {
        tcgetattr(0, &original)
        var raw = original
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        tcsetattr(0, TCSANOW, &raw)
        Terminal.out("\u{1B}[?1049h\u{1B}[?25l")
    }

    func restore() {
        guard !restored else { return }
        restored = true
        tcsetattr(0, TCSANOW, &original)
        Terminal.out("\u{1B}[?25h\u{1B}[?1049l")
    }

    deinit { restore() }
}
