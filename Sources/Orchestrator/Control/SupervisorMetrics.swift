import CoreMetrics
import DaemonKit
import FoundationEssentials
import Prometheus
import Synchronization

/// The supervisor's metrics, served in the Prometheus text format at `GET /metrics` (docs/metrics.md).
///
/// Three sources feed one swift-prometheus registry:
/// - the event stream, through ``observe(_:)``: finished runs by outcome, their durations and lateness, restarts,
///   start times, reloads;
/// - the daemons' records, read at each scrape (``exposition(records:)``): whether each daemon is up, its state,
///   its next due run;
/// - the kinds' own counters (a watcher's batches, an rpc daemon's requests), through swift-metrics: this is the
///   `MetricsFactory` of their ``DaemonContext``.
///
/// Every series with a `daemon` label is kept under that daemon, and goes when a reload removes it. Nothing here
/// runs on a timer: an idle supervisor stays idle until something scrapes it.
final class SupervisorMetrics: Sendable {
    /// The Prometheus registry every series is in.
    let registry: PrometheusCollectorRegistry
    private let state: Mutex<State>

    /// A series of the registry, kept to be unregistered with its daemon.
    enum Series {
        case counter(Prometheus.Counter)
        case gauge(Prometheus.Gauge)
        case durations(DurationHistogram)
        case values(ValueHistogram)
    }

    /// What the events taught about one daemon.
    struct Daemon {
        /// Its series, by name and labels.
        var series: [String: Series] = [:]
        /// When it last started (entered `starting`, or came up without it).
        var startedAt: Date?
        /// When a run of it last succeeded.
        var lastSuccess: Date?
    }

    struct State {
        /// Where the series are.
        let registry: PrometheusCollectorRegistry
        var daemons: [String: Daemon] = [:]
        /// Whether the last reload was applied, and when the last one that was applied happened.
        var reloadSucceeded = true
        var lastSuccessfulReload: Date
        /// The series without a `daemon` label made through swift-metrics, by name and labels.
        var shared: [String: Series] = [:]
    }

    /// Makes the metrics of a supervisor that loaded its manifest at `startedAt`.
    init(startedAt: Date) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        state = Mutex(State(registry: registry, lastSuccessfulReload: startedAt))
        registry.makeGauge(
            descriptor: .named("orchestrate_build_info", help: Self.help["orchestrate_build_info"] ?? ""),
            labels: [("version", OrchestrateVersion.current)]
        ).set(to: 1)
    }

    // MARK: The event stream

    /// Takes in one event of the supervisor's stream (a ``DaemonRegistry`` observer: quick, no suspension).
    func observe(_ event: SupervisorEvent) {
        switch event.kind {
        case .runFinished(let report) where !report.life:
            let run = report.run
            let outcome = run.timedOut ? "timeout" : run.exitCode == 0 ? "success" : "failure"
            state.withLock { state in
                state.counter("orchestrate_runs_total", of: report.name, [("outcome", outcome)]).increment()
                if let milliseconds = run.durationMilliseconds {
                    state.durations("orchestrate_run_duration_seconds", [("daemon", report.name)]).record(
                        .milliseconds(milliseconds)
                    )
                }
                if let late = run.lateMilliseconds {
                    state.durations("orchestrate_run_lateness_seconds", [("daemon", report.name)]).record(
                        .microseconds(Int64((late * 1_000).rounded()))
                    )
                }
                if outcome == "success" { state.daemons[report.name, default: Daemon()].lastSuccess = event.time }
            }
        case .stateChanged(let change):
            // Started: it entered `starting`, or came up without passing through it. Restarted: it left its backoff
            // for a new life (not for a stop).
            let (starting, backoff) = (DaemonRecord.State.starting.name, DaemonRecord.State.backoff.name)
            let up = [DaemonRecord.State.running.name, DaemonRecord.State.idle.name]
            let previous = change.previous ?? ""
            let started =
                change.state == starting
                || (up.contains(change.state) && previous != starting && !up.contains(previous))
            let restarted =
                previous == backoff && change.state != DaemonRecord.State.stopping.name
                && change.state != DaemonRecord.State.stopped.name
            guard started || restarted else { return }
            state.withLock { state in
                if started { state.daemons[change.name, default: Daemon()].startedAt = event.time }
                if restarted { state.counter("orchestrate_daemon_restarts_total", of: change.name).increment() }
            }
        case .removed(let name):
            let gone = state.withLock { $0.daemons.removeValue(forKey: name)?.series.values.map { $0 } } ?? []
            for series in gone { unregister(series) }
        case .reload(let report):
            state.withLock { state in
                state.reloadSucceeded = report.ok
                if report.ok { state.lastSuccessfulReload = report.at }
            }
        default:
            break
        }
    }

    /// Adds one to the counter `name` with `labels` (a `daemon` label keeps it with that daemon).
    func count(_ name: String, _ labels: [(String, String)]) {
        state.withLock { $0.counter(name, labels) }.increment()
    }

    // MARK: A scrape

    /// The whole exposition (Prometheus text format 0.0.4): the registry, brought up to date with `records`, then the
    /// supervisor's own `process_*` series.
    func exposition(records: [DaemonRecord]) -> [UInt8] {
        state.withLock { state in
            for record in records {
                let name = record.name
                let up = record.state == .running || record.state == .idle
                state.gauge("orchestrate_daemon_up", of: name, [("kind", record.kind)]).set(to: up ? 1 : 0)
                for known in Self.states {
                    let current: Double = record.state.name == known ? 1 : 0
                    state.gauge("orchestrate_daemon_state", of: name, [("state", known)]).set(to: current)
                }
                if !Self.states.contains(record.state.name) {
                    state.gauge("orchestrate_daemon_state", of: name, [("state", record.state.name)]).set(to: 1)
                }
                // Counters start at 0, so that a rate over them is right from the daemon's first scrape.
                _ = state.counter("orchestrate_daemon_restarts_total", of: name)
                let daemon = state.daemons[name] ?? Daemon()
                if let started = daemon.startedAt?.timeIntervalSince1970 {
                    state.gauge("orchestrate_daemon_start_time_seconds", of: name).set(to: started)
                }
                guard record.kind == PeriodicSpec.name || record.kind == WatcherSpec.name else { continue }
                for outcome in ["success", "failure", "timeout", "skipped"] {
                    _ = state.counter("orchestrate_runs_total", of: name, [("outcome", outcome)])
                }
                if record.kind == WatcherSpec.name {
                    _ = state.counter("orchestrate_watcher_batches_total", of: name)
                    continue
                }
                if let next = record.nextRun?.timeIntervalSince1970 {
                    state.gauge("orchestrate_periodic_next_run_timestamp_seconds", of: name).set(to: next)
                } else if let gone = state.daemons[name]?.series.removeValue(
                    forKey: State.key("orchestrate_periodic_next_run_timestamp_seconds", [("daemon", name)])
                ) {
                    // No run is scheduled (a cron schedule with no next time): the series goes rather than lie.
                    unregister(gone)
                }
                if let success = daemon.lastSuccess?.timeIntervalSince1970 {
                    state.gauge("orchestrate_periodic_last_success_timestamp_seconds", of: name).set(to: success)
                }
            }
            let (succeeded, lastSuccess) = (state.reloadSucceeded, state.lastSuccessfulReload.timeIntervalSince1970)
            state.gauge("orchestrate_config_last_reload_successful", of: nil).set(to: succeeded ? 1 : 0)
            state.gauge("orchestrate_config_last_reload_success_timestamp_seconds", of: nil).set(to: lastSuccess)
        }
        var text = registry.emitToBuffer()
        ProcessMetrics.read().emit(into: &text)
        return text
    }

    private func unregister(_ series: Series) {
        switch series {
        case .counter(let counter): registry.unregisterCounter(counter)
        case .gauge(let gauge): registry.unregisterGauge(gauge)
        case .durations(let histogram): registry.unregisterDurationHistogram(histogram)
        case .values(let histogram): registry.unregisterValueHistogram(histogram)
        }
    }

    /// The states `orchestrate_daemon_state` has a series for (a state a kind adds gets one while it is current).
    static let states = [
        DaemonRecord.State.starting, .running, .idle, .waiting, .backoff, .stopping, .stopped, .completed, .failed,
        .disabled,
    ].map(\.name)

    /// The help text of each series, by name; one text per name, as the registry requires.
    static let help: [String: String] = [
        "orchestrate_build_info": "The orchestrate build serving these metrics (always 1).",
        "orchestrate_daemon_up": "1 while the daemon runs or waits for its next run, 0 in any other state.",
        "orchestrate_daemon_state": "1 for the daemon's current state, 0 for the others.",
        "orchestrate_daemon_restarts_total": "Restarts of the daemon by its restart policy.",
        "orchestrate_daemon_start_time_seconds": "When the daemon last started, in seconds since the Unix epoch.",
        "orchestrate_runs_total":
            "Runs of a periodic or watcher daemon: finished (success, failure, timeout) or skipped by its overlap policy.",
        "orchestrate_run_duration_seconds": "How long the runs of a periodic or watcher daemon took.",
        "orchestrate_run_lateness_seconds": "How long after its due time each scheduled run was spawned.",
        "orchestrate_periodic_next_run_timestamp_seconds": "When the next run is due, in seconds since the Unix epoch.",
        "orchestrate_periodic_last_success_timestamp_seconds":
            "When the last successful run ended, in seconds since the Unix epoch.",
        "orchestrate_watcher_batches_total": "Batches of file changes the watcher took (debounced), run or skipped.",
        "orchestrate_rpc_requests_total":
            "Requests to an rpc daemon: JSON-RPC calls by method and code (0 for a result), other routes by route and HTTP status.",
        "orchestrate_config_last_reload_successful":
            "1 when the last reload of the manifest was applied, 0 when refused.",
        "orchestrate_config_last_reload_success_timestamp_seconds":
            "When the manifest was last loaded or reloaded successfully, in seconds since the Unix epoch.",
    ]

    /// The buckets of each histogram (swift-prometheus's defaults for the others).
    static let buckets: [String: [Duration]] = [
        "orchestrate_run_duration_seconds": [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(10),
            .seconds(30), .seconds(60), .seconds(300), .seconds(900), .seconds(3_600),
        ],
        "orchestrate_run_lateness_seconds": [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
        ],
    ]
}

extension SupervisorMetrics.State {
    /// A series' key: its name and labels.
    static func key(_ name: String, _ labels: [(String, String)]) -> String {
        labels.reduce(into: name) { key, label in key += "\u{0}\(label.0)=\(label.1)" }
    }

    /// The series `name` with `labels`, made by `make` (with the registry, the name, the labels and the help text)
    /// unless it exists; kept under the daemon its `daemon` label names, if it has one.
    mutating func series(
        _ name: String,
        _ labels: [(String, String)],
        make: (PrometheusCollectorRegistry, String, [(String, String)], String) -> SupervisorMetrics.Series
    ) -> SupervisorMetrics.Series {
        let key = Self.key(name, labels)
        let daemon = labels.first { $0.0 == "daemon" }?.1
        if let found = daemon.map({ daemons[$0]?.series[key] }) ?? shared[key] { return found }
        let made = make(registry, name, labels, SupervisorMetrics.help[name] ?? "")
        if let daemon { daemons[daemon, default: .init()].series[key] = made } else { shared[key] = made }
        return made
    }

    /// Forgets `handler`'s series (one made through swift-metrics), returning it to be unregistered.
    mutating func forget(_ handler: AnyObject) -> SupervisorMetrics.Series? {
        if let key = shared.first(where: { $0.value.object === handler })?.key {
            return shared.removeValue(forKey: key)
        }
        for (daemon, record) in daemons {
            if let key = record.series.first(where: { $0.value.object === handler })?.key {
                return daemons[daemon]?.series.removeValue(forKey: key)
            }
        }
        return nil
    }

    mutating func counter(_ name: String, of daemon: String, _ labels: [(String, String)] = []) -> Prometheus.Counter {
        counter(name, [("daemon", daemon)] + labels)
    }

    mutating func counter(_ name: String, _ labels: [(String, String)]) -> Prometheus.Counter {
        let made = series(name, labels) { .counter($0.makeCounter(descriptor: .named($1, help: $3), labels: $2)) }
        guard case .counter(let counter) = made else { preconditionFailure("\(name) is not a counter") }
        return counter
    }

    mutating func gauge(_ name: String, of daemon: String?, _ labels: [(String, String)] = []) -> Prometheus.Gauge {
        gauge(name, (daemon.map { [("daemon", $0)] } ?? []) + labels)
    }

    mutating func gauge(_ name: String, _ labels: [(String, String)]) -> Prometheus.Gauge {
        let made = series(name, labels) { .gauge($0.makeGauge(descriptor: .named($1, help: $3), labels: $2)) }
        guard case .gauge(let gauge) = made else { preconditionFailure("\(name) is not a gauge") }
        return gauge
    }

    /// A histogram of durations, with the buckets ``SupervisorMetrics/buckets`` gives its name (swift-prometheus's
    /// defaults for another name).
    mutating func durations(_ name: String, _ labels: [(String, String)]) -> DurationHistogram {
        let made = series(name, labels) { registry, name, labels, help in
            .durations(
                registry.makeDurationHistogram(
                    descriptor: .named(name, help: help),
                    labels: labels,
                    buckets: SupervisorMetrics.buckets[name] ?? SupervisorMetrics.durationBuckets
                )
            )
        }
        guard case .durations(let histogram) = made else { preconditionFailure("\(name) is not a histogram") }
        return histogram
    }
}

extension SupervisorMetrics.Series {
    /// The registry's object behind the series.
    var object: AnyObject {
        switch self {
        case .counter(let counter): counter
        case .gauge(let gauge): gauge
        case .durations(let histogram): histogram
        case .values(let histogram): histogram
        }
    }
}

/// The kinds' own series (swift-metrics), in the same registry. A counter is a Prometheus counter, a timer a
/// histogram of seconds, a recorder a gauge (or a histogram when it aggregates), a meter a gauge.
extension SupervisorMetrics: MetricsFactory {
    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        madeCounter(label, dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        madeCounter(label, dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return madeGauge(label, dimensions) }
        let made = state.withLock { state in
            state.series(label, dimensions) { registry, name, labels, help in
                .values(
                    registry.makeValueHistogram(
                        descriptor: .named(name, help: help),
                        labels: labels,
                        buckets: Self.valueBuckets
                    )
                )
            }
        }
        guard case .values(let histogram) = made else { preconditionFailure("\(label) is not a histogram") }
        return histogram
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { madeGauge(label, dimensions) }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        state.withLock { $0.durations(label, dimensions) }
    }

    func destroyCounter(_ handler: any CounterHandler) { destroy(handler) }
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) { destroy(handler) }
    func destroyMeter(_ handler: any MeterHandler) { destroy(handler) }
    func destroyRecorder(_ handler: any RecorderHandler) { destroy(handler) }
    func destroyTimer(_ handler: any TimerHandler) { destroy(handler) }

    private func madeCounter(_ label: String, _ dimensions: [(String, String)]) -> Prometheus.Counter {
        state.withLock { $0.counter(label, dimensions) }
    }

    private func madeGauge(_ label: String, _ dimensions: [(String, String)]) -> Prometheus.Gauge {
        state.withLock { $0.gauge(label, dimensions) }
    }

    private func destroy(_ handler: AnyObject) {
        if let series = state.withLock({ $0.forget(handler) }) { unregister(series) }
    }

    /// swift-prometheus's default buckets, for the kinds' timers and aggregating recorders.
    static let durationBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(10),
    ]
    static let valueBuckets: [Double] = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000]
}

extension MetricNameDescriptor {
    /// The series `name` as it is, with `help`: orchestrate's names carry their unit already.
    static func named(_ name: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
