import Foundation
import OrchestrateTesting
import Testing

extension SupervisorBinaryTests {
    /// `GET /metrics` of the built binary: the series move as daemons run, fail and restart, the body passes
    /// `promtool check metrics` and Python's prometheus_client parser, and a reload takes a removed daemon's
    /// series away.
    @Suite("Metrics, end to end", .serialized)
    struct MetricsEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests

        static func manifest(port: Int, gone: Bool = true) -> String {
            """
            control: {http: "127.0.0.1:\(port)", api_key_env: CONTROL_KEY}
            reload: manual
            daemons:
              ok:
                kind: periodic
                interval: 200ms
                command: ["true"]
              bad:
                kind: periodic
                interval: 200ms
                command: ["false"]
              crash:
                kind: process
                command: ["sh", "-c", "sleep 0.2; exit 3"]
                restart: {policy: on-failure, backoff: {initial: 100ms, max: 100ms}, limit: {burst: 1000, window: 1m}}
              files:
                kind: watcher
                paths: [src]
                debounce: 0s
                command: ["true"]
            """ + (gone ? "\n  gone:\n    kind: periodic\n    interval: 1h\n    command: [\"true\"]\n" : "\n")
        }

        @Test func seriesMoveParseAndFollowReloads() async throws {
            let port = try #require(freeLoopbackPort())
            let manifest = Self.manifest(port: port)
            try await Supervisor.withSupervisor(manifest, environment: ["CONTROL_KEY": "s3cret"]) { directory in
                let socket = APIServer.controlSocket(directory.url(".orchestrate/orchestrate.sock"))
                let scrape = { () async throws -> Exposition in
                    let response = try await APIClient.send("GET", "/metrics", to: socket)
                    #expect(response.status == 200)
                    #expect(response.contentType == "text/plain; version=0.0.4; charset=utf-8")
                    return Exposition(response.text)
                }

                // Runs, failures and restarts move the counters.
                #expect(
                    await waitUntil(timeout: .seconds(20)) {
                        guard let metrics = try? await scrape() else { return false }
                        return metrics["orchestrate_runs_total", ["daemon": "ok", "outcome": "success"]] ?? 0 >= 2
                            && metrics["orchestrate_runs_total", ["daemon": "bad", "outcome": "failure"]] ?? 0 >= 2
                            && metrics["orchestrate_daemon_restarts_total", ["daemon": "crash"]] ?? 0 >= 1
                    }
                )
                try directory.write("src/changed.txt", "x")
                #expect(
                    await waitUntil(timeout: .seconds(20)) {
                        guard let metrics = try? await scrape() else { return false }
                        return metrics["orchestrate_watcher_batches_total", ["daemon": "files"]] ?? 0 >= 1
                            && metrics["orchestrate_runs_total", ["daemon": "files", "outcome": "success"]] ?? 0 >= 1
                    }
                )
                let metrics = try await scrape()
                #expect(metrics["orchestrate_daemon_up", ["daemon": "ok", "kind": "periodic"]] == 1)
                #expect(metrics["orchestrate_runs_total", ["daemon": "ok", "outcome": "timeout"]] == 0)
                #expect(metrics["orchestrate_runs_total", ["daemon": "ok", "outcome": "skipped"]] == 0)
                let okStates = metrics.samples.filter {
                    $0.name == "orchestrate_daemon_state" && $0.labels["daemon"] == "ok"
                }
                #expect(okStates.count == 10 && okStates.filter { $0.value == 1 }.count == 1)
                #expect(metrics["orchestrate_run_duration_seconds_count", ["daemon": "ok"]] ?? 0 >= 2)
                #expect(metrics["orchestrate_run_lateness_seconds_count", ["daemon": "ok"]] ?? 0 >= 1)
                let now = Date().timeIntervalSince1970
                let next = try #require(metrics["orchestrate_periodic_next_run_timestamp_seconds", ["daemon": "ok"]])
                #expect(next > now - 5 && next < now + 5)
                let success = metrics["orchestrate_periodic_last_success_timestamp_seconds", ["daemon": "ok"]]
                #expect(
                    success != nil
                        && metrics["orchestrate_periodic_last_success_timestamp_seconds", ["daemon": "bad"]] == nil
                )
                #expect(metrics["orchestrate_daemon_start_time_seconds", ["daemon": "crash"]] ?? 0 > now - 60)
                #expect(metrics["orchestrate_config_last_reload_successful"] == 1)
                #expect(metrics.samples.contains { $0.name == "orchestrate_build_info" && $0.value == 1 })
                #expect(metrics["process_resident_memory_bytes"] ?? 0 > 1_000_000)
                #expect(metrics["process_open_fds"] ?? 0 > 3)
                #expect(metrics["process_cpu_seconds_total"] != nil && metrics["process_start_time_seconds"] != nil)
                #expect(!metrics.samples.contains { $0.labels["pid"] != nil })

                // Both parsers take the body as it is.
                let body = try await APIClient.send("GET", "/metrics", to: socket).text
                let file = try directory.write("metrics.txt", body)
                let check = try TestProcess.run([try E2E.python(), try directory.write("check.py", Self.checker), file])
                #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
                #expect(check.stdout.contains("prometheus_client: "), "\(check.stdout)")
                #expect(check.stdout.contains("promtool: OK"), "\(check.stdout)\(check.stderr)")

                // control.http serves it without the key, which every other route needs.
                let http = APIServer.controlHTTP("127.0.0.1:\(port)", key: nil)
                #expect(try await APIClient.send("GET", "/metrics", to: http).status == 200)
                #expect(try await APIClient.send("GET", "/v1/status", to: http).status == 401)

                // A refused reload shows; an applied one takes the removed daemon's series away.
                #expect(metrics.samples.contains { $0.labels["daemon"] == "gone" })
                try directory.write("daemons.yaml", manifest + "  broken: {kind: periodic}\n")
                #expect(try await E2E.run(["reload"], in: directory.path).status != 0)
                #expect(try await scrape()["orchestrate_config_last_reload_successful"] == 0)
                try directory.write("daemons.yaml", Self.manifest(port: port, gone: false))
                let reload = try await E2E.run(["reload"], in: directory.path)
                #expect(reload.status == 0, "\(reload.stderr)")
                let after = try await scrape()
                #expect(!after.samples.contains { $0.labels["daemon"] == "gone" })
                #expect(after.samples.contains { $0.labels["daemon"] == "ok" })
                #expect(after["orchestrate_config_last_reload_successful"] == 1)
                let reloadedAt = after["orchestrate_config_last_reload_success_timestamp_seconds"] ?? 0
                #expect(reloadedAt > Date().timeIntervalSince1970 - 30)
            }
        }

        /// Parses the file with prometheus_client, and checks it with `promtool check metrics` (from Debian's
        /// prometheus package, which `make test` installs); prints what each said.
        static let checker = """
            import subprocess, sys
            from prometheus_client.parser import text_string_to_metric_families
            text = open(sys.argv[1]).read()
            families = list(text_string_to_metric_families(text))
            samples = sum(len(family.samples) for family in families)
            print(f"prometheus_client: {len(families)} families, {samples} samples")
            try:
                checked = subprocess.run(["promtool", "check", "metrics"], input=text, text=True, capture_output=True)
            except FileNotFoundError:
                sys.exit("promtool is missing: `make test-tools` installs it (Debian's prometheus package)")
            if checked.returncode != 0 or checked.stdout.strip() or checked.stderr.strip():
                sys.exit(f"promtool: {checked.returncode}: {checked.stdout}{checked.stderr}")
            print("promtool: OK")
            """
    }
}

/// A body in the Prometheus text format, as samples: enough to read this project's own series.
struct Exposition {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    var samples: [Sample] = []

    init(_ text: String) {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            let series = line[..<space]
            guard let open = series.firstIndex(of: "{") else {
                samples.append(Sample(name: String(series), labels: [:], value: value))
                continue
            }
            var labels: [String: String] = [:]
            // Label values here hold no quote or comma: `a="x",b="y"`.
            for pair in series[series.index(after: open)..<series.index(before: series.endIndex)].split(separator: ",")
            {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                labels[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
            samples.append(Sample(name: String(series[..<open]), labels: labels, value: value))
        }
    }

    /// The value of the sample `name` with exactly `labels`.
    subscript(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }
}
