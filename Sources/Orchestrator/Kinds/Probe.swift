import DaemonKit
import Manifest

/// A process daemon's readiness or liveness check.
public struct Probe: Hashable, Sendable {
    /// What is checked.
    public enum Check: Hashable, Sendable {
        /// A URL answering 2xx.
        case http(String)
        /// A TCP address accepting a connection.
        case tcp(ListenAddress)
        /// A command exiting 0.
        case exec(Command)
        /// A line of output matching a regular expression.
        case logLine(String)
    }

    /// What is checked.
    public var check: Check
    /// Time between checks.
    public var period: Duration
    /// Readiness: how long the process may take to become ready. Liveness: how long one check may take.
    public var timeout: Duration
    /// Liveness: consecutive failures that restart the process.
    public var failures: Int?

    /// Makes a probe.
    public init(check: Check, period: Duration, timeout: Duration, failures: Int? = nil) {
        self.check = check
        self.period = period
        self.timeout = timeout
        self.failures = failures
    }

    /// Reads a probe's resolved fields.
    init(fields: ResolvedFields) {
        let check: Check =
            if let url = fields.string("http") {
                .http(url)
            } else if let address = fields.listenAddress("tcp") {
                .tcp(address)
            } else if let command = fields.command("exec") {
                .exec(command)
            } else {
                .logLine(fields.string("log_line")!)
            }
        self.init(
            check: check,
            period: fields.duration("period")!,
            timeout: fields.duration("timeout")!,
            failures: fields.int("failures")
        )
    }

    /// The shape of a probe: one check, its period and timeout, and for liveness how many failures in a row count.
    static func shape(
        title: String,
        period: String,
        timeout: String,
        timeoutSummary: String,
        failures: Bool
    ) -> ObjectShape {
        var properties = [
            Property(
                "http",
                .scalar(.httpURL),
                "Passes when this URL answers 2xx.",
                example: .string("http://127.0.0.1:8000/health")
            ),
            Property(
                "tcp",
                .scalar(.listen(allowUnix: false)),
                "Passes when this host:port accepts a connection.",
                example: .string("127.0.0.1:5432")
            ),
            Property(
                "exec",
                .command,
                "Passes when this command exits 0 (run in the daemon's cwd, with its env).",
                example: .array([.string("pg_isready"), .string("-h"), .string("127.0.0.1")])
            ),
            Property(
                "log_line",
                .scalar(.regex),
                "Passes when the output has a line matching this regular expression.",
                example: .string("ready to accept connections")
            ),
            Property(
                "period",
                .duration(min: .milliseconds(10), max: .seconds(3_600)),
                "Time between checks.",
                default: .string(period),
                example: .string("1s")
            ),
            Property(
                "timeout",
                .duration(min: .milliseconds(1), max: .seconds(86_400)),
                timeoutSummary,
                default: .string(timeout),
                example: .string("2s")
            ),
        ]
        if failures {
            properties.append(
                Property(
                    "failures",
                    .integer(min: 1, max: 1_000),
                    "Consecutive failed checks that restart the process.",
                    default: .int(3),
                    example: .int(5)
                )
            )
        }
        return ObjectShape(title: title, properties: properties, exactlyOneOf: ["http", "tcp", "exec", "log_line"])
    }
}
