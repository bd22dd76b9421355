import DaemonKit
import FoundationEssentials
import Manifest

#if canImport(Glibc)
import Glibc
#endif

/// The CLI's side of the control API: finds a manifest's supervisor through its state folder and asks it
/// things, turning HTTP errors into one clear sentence.
public struct SupervisorClient: Sendable {
    /// A refusal or failure, with the HTTP status when the supervisor answered.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        /// Whether no supervisor runs for the manifest.
        public var notRunning: Bool
        /// One sentence.
        public var message: String
        /// The HTTP status, when the supervisor answered.
        public var status: Int?
        public var description: String { message }
    }

    /// The manifest's state folder.
    public let stateFolder: StateFolder
    private let client: IPCClient

    /// A client for the supervisor of `manifest`.
    public init(manifest: Manifest, timeout: Duration = .seconds(30)) {
        self.init(stateFolder: manifest.stateFolder, timeout: timeout)
    }

    /// A client for the supervisor of `stateFolder`.
    public init(stateFolder: StateFolder, timeout: Duration = .seconds(30)) {
        self.stateFolder = stateFolder
        client = IPCClient(socketPath: stateFolder.locateSocket(), timeout: timeout)
    }

    /// Whether a supervisor holds the manifest's lock.
    public var isRunning: Bool { PIDLock.isRunning(path: stateFolder.lockFile) }

    /// The supervisor's PID, when one runs.
    public var pid: Int32? { PIDLock.holder(path: stateFolder.lockFile) }

    /// `GET /v1/status`.
    public func status() throws(Failure) -> StatusDocument {
        let response = try send("GET", "/v1/status")
        do {
            return try StatusDocument.decoder.decode(StatusDocument.self, from: Data(response.body))
        } catch {
            throw Failure(notRunning: false, message: "the supervisor sent a status this version cannot read: \(error)")
        }
    }

    /// The status table as the supervisor renders it (only daemon `name`'s row when given).
    public func statusText(only name: String? = nil, colour: Bool = false) throws(Failure) -> String {
        var path = "/v1/status?format=text"
        if let name { path += "&daemon=" + Self.escape(name) }
        if colour { path += "&colour=1" }
        return try send("GET", path).text
    }

    /// The raw status JSON, for `status --json` (printed as the supervisor wrote it).
    public func statusJSON() throws(Failure) -> String { try send("GET", "/v1/status").text }

    /// `POST /v1/reload`: the plan applied (or made, for a dry run), or the errors that kept the manifest from
    /// applying (`ok` false).
    public func reload(_ body: ReloadBody) throws(Failure) -> ReloadOutcome { try outcome(of: "/v1/reload", body) }

    /// `POST /v1/daemons/NAME/scale`: the plan that started or stopped copies of the daemon, once applied.
    public func scale(_ name: String, to count: Int) throws(Failure) -> ReloadOutcome {
        try outcome(of: "/v1/daemons/\(Self.escape(name))/scale", ScaleBody(replicas: count))
    }

    /// Posts `body` to `path`, which answers with a reload's outcome.
    private func outcome(of path: String, _ body: some Encodable) throws(Failure) -> ReloadOutcome {
        let payload: [UInt8]
        do {
            payload = Array(try JSONEncoder().encode(body))
        } catch {
            throw Failure(notRunning: false, message: "cannot encode the request: \(error)")
        }
        let response: IPCClient.Response
        do {
            response = try answered { () throws(DaemonKitError) in
                try client.send("POST", path, body: payload, headers: [("Content-Type", "application/json")])
            }
        } catch {
            throw Self.failure(error)
        }
        if [200, 422].contains(response.status),
            let outcome = try? JSONDecoder().decode(ReloadOutcome.self, from: Data(response.body))
        {
            return outcome
        }
        throw Self.failure(response)
    }

    /// `POST /v1/down`.
    public func down() throws(Failure) { _ = try send("POST", "/v1/down") }

    /// `POST /v1/daemons/NAME/ACTION` for start, stop and restart; returns the daemon's record.
    public func lifecycle(_ action: String, _ name: String) throws(Failure) -> DaemonRecord {
        let response = try send("POST", "/v1/daemons/\(Self.escape(name))/\(action)")
        do {
            return try StatusDocument.decoder.decode(DaemonRecord.self, from: Data(response.body))
        } catch {
            throw Failure(notRunning: false, message: "unreadable answer from the supervisor: \(error)")
        }
    }

    /// ``lifecycle(_:_:)`` of daemon `name`, or of each of its copies when it runs as several (`replicas`): the API
    /// acts on one daemon, and `orchestrate restart web` means every copy of `web`.
    public func lifecycleOfEach(_ action: String, _ name: String) throws(Failure) -> [DaemonRecord] {
        do {
            return [try lifecycle(action, name)]
        } catch  where error.status == 404 {
            let copies = (try? status())?.records(named: name) ?? []
            guard !copies.isEmpty else { throw error }
            var records: [DaemonRecord] = []
            for copy in copies { records.append(try lifecycle(action, copy.name)) }
            return records
        }
    }

    /// `POST /v1/daemons/NAME/trigger[?wait=true]`.
    public func trigger(_ name: String, wait: Bool) throws(Failure) -> TriggerOutcome {
        let response = try send("POST", "/v1/daemons/\(Self.escape(name))/trigger" + (wait ? "?wait=true" : ""))
        do {
            return try JSONDecoder().decode(TriggerOutcome.self, from: Data(response.body))
        } catch {
            throw Failure(notRunning: false, message: "unreadable answer from the supervisor: \(error)")
        }
    }

    /// Streams `GET /v1/events`, handing each changed record (its `daemon` events) to `onRecord` until it returns
    /// false.
    public func events(_ onRecord: (DaemonRecord) -> Bool) throws(Failure) {
        try events(EventQuery()) { line, _ in
            guard case .record(let record) = line.data else { return true }
            return onRecord(record)
        }
    }

    /// Streams `GET /v1/events` as JSON lines with `query`'s choices, handing each event (and its line as the
    /// supervisor wrote it) to `onEvent` until it returns false or the stream ends (without `follow`).
    public func events(_ query: EventQuery, _ onEvent: (EventLine, String) -> Bool) throws(Failure) {
        var query = query
        query.format = .jsonl
        var refusal = ""
        let response: IPCClient.Response
        do {
            response = try client.stream("/v1/events?" + query.queryString) { text in
                guard let line = try? StatusDocument.decoder.decode(EventLine.self, from: Data(text.utf8)) else {
                    refusal += text
                    return true
                }
                return onEvent(line, text)
            }
        } catch {
            throw Self.failure(error)
        }
        guard response.status == 200 else { throw Self.failure(status: response.status, body: Array(refusal.utf8)) }
    }

    private func send(_ method: String, _ path: String) throws(Failure) -> IPCClient.Response {
        let response: IPCClient.Response
        do {
            response = try answered { () throws(DaemonKitError) in try client.send(method, path) }
        } catch {
            throw Self.failure(error)
        }
        guard (200..<300).contains(response.status) else { throw Self.failure(response) }
        return response
    }

    /// Sends `request`, and sends it again while nothing listens on the socket but a supervisor holds the lock, for up
    /// to 5 s: one starting launches its daemons before it listens, and one stopping removes its socket before it
    /// lets go of the lock. (A connection refused never delivered the request.)
    private func answered<T>(_ request: () throws(DaemonKitError) -> T) throws(DaemonKitError) -> T {
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            do {
                return try request()
            } catch  where error.code == .notRunning && ContinuousClock.now < deadline && isRunning {
                usleep(5_000)
            }
        }
    }

    /// A refusal: the answer's `error` sentence and `suggestion`.
    private static func failure(_ response: IPCClient.Response) -> Failure {
        failure(status: response.status, body: response.body)
    }

    private static func failure(status: Int, body: [UInt8]) -> Failure {
        let refusal = try? JSONDecoder().decode(ControlError.self, from: Data(body))
        var message = refusal?.error ?? "the supervisor answered \(status)"
        if let suggestion = refusal?.suggestion { message += "; " + suggestion }
        return Failure(notRunning: false, message: message, status: status)
    }

    private static func failure(_ error: DaemonKitError) -> Failure {
        if error.code == .notRunning { return Failure(notRunning: true, message: "orchestrate is not running") }
        return Failure(notRunning: false, message: error.message)
    }

    private static func escape(_ name: String) -> String {
        PercentEncoding.encodePathSegment(name)
    }
}
