import DaemonKit
import FoundationEssentials
import Logging
import Manifest
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The daemons' `notify` hooks: an observer of the event stream that tells, for each daemon with hooks, when a run
/// failed, its program exited, it was parked as failed, it recovered, or it was restarted, by running its hook
/// command and posting to its webhook.
///
/// A hook never holds supervision up: the observer only files a job, and each daemon's jobs run one at a time, in
/// order, in a task of their own. A daemon keeps at most ``queueLimit`` jobs waiting; what comes on top is dropped,
/// counted (`orchestrate_hooks_dropped_total`) and logged. A hook's command is killed after its timeout, a webhook
/// gives up after three tries; either failure is logged in the daemon's log and the supervisor's.
final class Hooks: Sendable {
    /// One event to tell.
    struct Job: Sendable {
        var event: NotifySpec.Event
        var daemon: String
        var kind: String
        /// The exit status of the run or program the event is about (128 + N for signal N).
        var exitStatus: Int32?
        var message: String?
        var time: Date
    }

    /// What the observer remembers of a daemon.
    private struct Daemon {
        /// Whether its last run, or its program, failed: the next success is a recovery.
        var failing = false
        /// Its state, from the last state change.
        var state = ""
        /// Where its jobs wait; made with its first job.
        var queue: AsyncStream<Job>.Continuation?
    }

    /// How many jobs of one daemon may wait.
    static let queueLimit = 16
    /// How many lines of the daemon's log `ORCHESTRATE_LOG_FILE` and the webhook's `log` hold.
    static let logLines = 50

    private let daemons = Mutex<[String: Daemon]>([:])
    /// The spec of a daemon as the supervisor runs it now.
    private let spec: @Sendable (String) -> DaemonSpec?
    /// A daemon's log.
    private let log: @Sendable (String) -> RotatingLogFile?
    private let stateFolder: StateFolder
    private let logger: Logger
    private let registry: DaemonRegistry
    private let metrics: SupervisorMetrics
    private let poster: WebhookPoster
    /// Each daemon's queue as it is made, for ``run()`` to serve.
    private let queues: AsyncStream<AsyncStream<Job>>
    private let newQueue: AsyncStream<AsyncStream<Job>>.Continuation

    init(
        stateFolder: StateFolder,
        registry: DaemonRegistry,
        metrics: SupervisorMetrics,
        logger: Logger,
        tls: (any WebhookTLS)? = nil,
        log: @escaping @Sendable (String) -> RotatingLogFile?,
        spec: @escaping @Sendable (String) -> DaemonSpec?
    ) {
        self.log = log
        self.stateFolder = stateFolder
        self.registry = registry
        self.metrics = metrics
        self.logger = logger
        poster = WebhookPoster(tls: tls)
        self.spec = spec
        (queues, newQueue) = AsyncStream.makeStream(of: AsyncStream<Job>.self)
    }

    // MARK: From events to jobs

    /// Takes in one event of the stream (a ``DaemonRegistry`` observer: quick, no suspension).
    func observe(_ event: SupervisorEvent) {
        switch event.kind {
        case .runFinished(let report):
            let run = report.run
            let status = run.exitCode ?? run.signal.map { 128 + $0 }
            let succeeded = run.exitCode == 0 && !run.timedOut
            if report.life {
                // A program that ends while its daemon is not being stopped ended by itself.
                let (stopping, kind) = daemons.withLock { daemons in
                    (daemons[report.name]?.state == DaemonRecord.State.stopping.name, spec(report.name)?.kindName)
                }
                guard !stopping else { return }
                if !succeeded { markFailing(report.name) }
                let how = run.timedOut ? "timed out" : Self.ending(run)
                file(.exited, report.name, kind: kind, status: status, message: "the program \(how)", at: event.time)
            } else if succeeded {
                if recovered(report.name) {
                    file(.recovered, report.name, status: status, message: "a run succeeded again", at: event.time)
                }
            } else {
                markFailing(report.name)
                let how = run.timedOut ? "timed out" : Self.ending(run)
                file(.runFailed, report.name, status: status, message: "a run \(how)", at: event.time)
            }
        case .stateChanged(let change):
            daemons.withLock { $0[change.name, default: Daemon()].state = change.state }
            let previous = change.previous ?? ""
            if change.state == DaemonRecord.State.failed.name {
                markFailing(change.name)
                file(.failed, change.name, message: change.lastError ?? "given up", at: event.time)
            } else if previous == DaemonRecord.State.backoff.name && change.state == DaemonRecord.State.starting.name {
                file(.restarted, change.name, message: "restarted by its restart policy", at: event.time)
            } else if change.state == DaemonRecord.State.running.name,
                change.kind == ProcessSpec.name
                    || change.kind == RPCSpec.name, recovered(change.name)
            {
                file(.recovered, change.name, message: "running again", at: event.time)
            }
        case .removed(let name):
            let queue = daemons.withLock { $0.removeValue(forKey: name)?.queue }
            queue?.finish()
        default:
            break
        }
    }

    private func markFailing(_ name: String) { daemons.withLock { $0[name, default: Daemon()].failing = true } }

    /// Whether `name` was failing (and is not any more).
    private func recovered(_ name: String) -> Bool {
        daemons.withLock { daemons in
            guard daemons[name]?.failing == true else { return false }
            daemons[name]?.failing = false
            return true
        }
    }

    /// Queues a job for `event` when the daemon's hooks are run for it.
    private func file(
        _ event: NotifySpec.Event,
        _ name: String,
        kind: String? = nil,
        status: Int32? = nil,
        message: String,
        at time: Date
    ) {
        guard let spec = spec(name), let notify = spec.notify, notify.events.contains(event) else { return }
        let job = Job(
            event: event,
            daemon: name,
            kind: kind ?? spec.kindName,
            exitStatus: status,
            message: message,
            time: time
        )
        let queue = daemons.withLock { daemons -> AsyncStream<Job>.Continuation in
            if let queue = daemons[name]?.queue { return queue }
            let (stream, queue) = AsyncStream.makeStream(
                of: Job.self,
                bufferingPolicy: .bufferingOldest(Self.queueLimit)
            )
            daemons[name, default: Daemon()].queue = queue
            newQueue.yield(stream)
            return queue
        }
        if case .dropped = queue.yield(job) {
            metrics.count("orchestrate_hooks_dropped_total", [("daemon", name)])
            logger.warning(
                "a hook was dropped: too many are waiting",
                metadata: ["daemon": .string(name), "event": .string(event.rawValue)]
            )
            registry.report(name, .note("hook for \(event.rawValue) dropped: \(Self.queueLimit) are waiting already"))
        }
    }

    static func ending(_ run: DaemonRecord.Run) -> String {
        if let code = run.exitCode { return "exited with status \(code)" }
        return "was killed by signal \(run.signal ?? 0)"
    }

    // MARK: Running jobs

    /// Serves every daemon's queue, each in a task of its own, until the task is cancelled.
    func run() async {
        await withDiscardingTaskGroup { group in
            for await queue in queues {
                group.addTask { [self] in
                    for await job in queue {
                        if Task.isCancelled { return }
                        await perform(job)
                    }
                }
            }
        }
    }

    /// Ends the queues (at shutdown).
    func finish() {
        newQueue.finish()
        let queues = daemons.withLock { daemons in daemons.values.compactMap(\.queue) }
        for queue in queues { queue.finish() }
    }

    /// Runs the daemon's hook command and posts to its webhook, as its spec says now.
    func perform(_ job: Job) async {
        guard let spec = spec(job.daemon), let notify = spec.notify else { return }
        // A log opened after the launch may still hold its first lines in memory.
        log(job.daemon)?.open()
        let tail = RotatingLogFile.tail(path: stateFolder.log(of: job.daemon), lines: Self.logLines)
        if let command = notify.command {
            await runCommand(command, for: job, spec: spec, timeout: notify.timeout, log: tail)
        }
        if let url = notify.webhook { await post(job, to: url, log: tail) }
    }

    private func runCommand(_ command: Command, for job: Job, spec: DaemonSpec, timeout: Duration, log: [String]) async
    {
        let name = job.daemon
        let logFile = try? Self.writeLogTail(log, in: stateFolder, daemon: name)
        defer { if let logFile { unlink(logFile) } }
        var environment = spec.environment
        environment[CommandVariable.event.name] = job.event.rawValue
        environment[CommandVariable.daemon.name] = name
        environment[CommandVariable.kind.name] = job.kind
        environment[CommandVariable.exitStatus.name] = job.exitStatus.map(String.init) ?? ""
        environment[CommandVariable.message.name] = job.message ?? ""
        environment[CommandVariable.logFile.name] = logFile ?? "/dev/null"
        let runner = CommandRunner(
            command,
            workingDirectory: spec.workingDirectory,
            environment: environment,
            timeout: timeout,
            stopTimeout: .seconds(2)
        )
        let daemonLog = registry.record(name) == nil ? nil : logOf(name)
        do {
            let result = try await runner.run(output: { bytes in daemonLog?(Array(bytes)) })
            if result.succeeded {
                metrics.count("orchestrate_hooks_total", [("daemon", name), ("result", "success")])
                return
            }
            let why =
                result.timedOut
                ? "was killed after its timeout (\(DurationText.format(timeout)))" : "ended with \(result.termination)"
            report(job, failure: "the hook command \(why)")
        } catch {
            report(job, failure: "the hook command did not start: \(error)")
        }
    }

    private func post(_ job: Job, to url: String, log: [String]) async {
        do {
            _ = try await poster.post(
                Self.webhookBody(job, log: log),
                to: url,
                userAgent: "orchestrate/\(OrchestrateVersion.current)"
            )
            metrics.count("orchestrate_hooks_total", [("daemon", job.daemon), ("result", "success")])
        } catch is CancellationError {
            return
        } catch {
            report(job, failure: "the webhook was not delivered: \(error)")
        }
    }

    private func report(_ job: Job, failure: String) {
        metrics.count("orchestrate_hooks_total", [("daemon", job.daemon), ("result", "failure")])
        logger.error(
            "a hook failed",
            metadata: ["daemon": .string(job.daemon), "event": .string(job.event.rawValue), "error": .string(failure)]
        )
        registry.report(job.daemon, .note("hook for \(job.event.rawValue): \(failure)"))
    }

    /// Where a hook command's output goes: the daemon's log, marked.
    private func logOf(_ name: String) -> (@Sendable ([UInt8]) -> Void)? {
        let registry = registry
        return { bytes in
            for line in bytes.split(separator: UInt8(ascii: "\n")) {
                registry.report(name, .note("hook: " + String(decoding: line, as: UTF8.self)))
            }
        }
    }

    /// Writes `lines` to a file of the state folder's `hooks` folder, for `ORCHESTRATE_LOG_FILE`.
    static func writeLogTail(_ lines: [String], in stateFolder: StateFolder, daemon: String) throws -> String {
        let folder = stateFolder.path + "/hooks"
        mkdir(folder, 0o700)
        var template = Array("\(folder)/\(daemon).XXXXXX.log".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemps($0.baseAddress!, 4) }
        guard descriptor >= 0 else {
            throw DaemonKitError(code: .fileSystem, message: "cannot make a file in \(folder)")
        }
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        FileBytes.write(Array(lines.map { $0 + "\n" }.joined().utf8), to: descriptor)
        close(descriptor)
        return path
    }

    /// The JSON a webhook gets (``WebhookBody``).
    static func webhookBody(_ job: Job, log: [String]) -> [UInt8] {
        var text = "orchestrate: \(job.daemon) \(job.event.rawValue)"
        if let message = job.message { text += ": \(message)" }
        let host = ProcessInfo.processInfo.hostName
        let body = WebhookBody(
            text: text + " (on \(host))",
            event: job.event.rawValue,
            daemon: job.daemon,
            kind: job.kind,
            exitStatus: job.exitStatus,
            message: job.message,
            time: Timestamp.text(job.time),
            host: host,
            log: log
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array((try? encoder.encode(body)) ?? Data())
    }
}

/// A webhook's JSON document: `{"daemon", "event", "exit_status", "host", "kind", "log", "message", "text", "time"}`,
/// `text` a sentence for Slack-style endpoints, which show it. No environment and no key: what a daemon keeps secret
/// stays out of it.
struct WebhookBody: Codable, Sendable {
    var text: String
    var event: String
    var daemon: String
    var kind: String
    var exitStatus: Int32?
    var message: String?
    var time: String
    var host: String
    var log: [String]

    enum CodingKeys: String, CodingKey {
        case text, event, daemon, kind, message, time, host, log
        case exitStatus = "exit_status"
    }

    func encode(to encoder: any Encoder) throws {
        // Absent values are written as null, so that every field is always there.
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(text, forKey: .text)
        try container.encode(event, forKey: .event)
        try container.encode(daemon, forKey: .daemon)
        try container.encode(kind, forKey: .kind)
        try container.encode(exitStatus, forKey: .exitStatus)
        try container.encode(message, forKey: .message)
        try container.encode(time, forKey: .time)
        try container.encode(host, forKey: .host)
        try container.encode(log, forKey: .log)
    }
}
