import DaemonKit
import Synchronization

/// The lines of the daemons' logs as they are written, for the clients that follow one (the dashboard's log pane,
/// through `GET /v1/daemons/NAME/log?follow=true`): each log hands every line it writes to ``publish(_:_:)``, which
/// costs a lock and a lookup while nobody follows it. A follower that falls ``bufferLimit`` lines behind loses the
/// oldest; the log file has them all.
final class LogTaps: Sendable {
    static let bufferLimit = 1_000

    private struct Storage {
        var followers: [String: [Int: AsyncStream<[UInt8]>.Continuation]] = [:]
        var nextKey = 0
    }

    private let storage = Mutex(Storage())

    /// A line (its timestamp and newline included) that `daemon`'s log wrote.
    func publish(_ daemon: String, _ line: [UInt8]) {
        let followers = storage.withLock { $0.followers[daemon].map { Array($0.values) } }
        for follower in followers ?? [] { follower.yield(line) }
    }

    /// The lines `daemon`'s log writes from now on, until the consumer stops.
    func follow(_ daemon: String) -> AsyncStream<[UInt8]> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: [UInt8].self,
            bufferingPolicy: .bufferingNewest(Self.bufferLimit)
        )
        let key = storage.withLock { storage in
            defer { storage.nextKey += 1 }
            storage.followers[daemon, default: [:]][storage.nextKey] = continuation
            return storage.nextKey
        }
        continuation.onTermination = { [weak self] _ in
            self?.storage.withLock { storage in
                storage.followers[daemon]?[key] = nil
                if storage.followers[daemon]?.isEmpty == true { storage.followers[daemon] = nil }
            }
        }
        return stream
    }

    /// Ends every follower (at shutdown).
    func finish() {
        let followers = storage.withLock { storage in
            defer { storage.followers.removeAll() }
            return storage.followers.values.flatMap(\.values)
        }
        for follower in followers { follower.finish() }
    }
}
