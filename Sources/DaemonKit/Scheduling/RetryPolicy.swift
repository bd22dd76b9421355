/// How a failed run of a periodic or watcher daemon is retried before its schedule goes on.
public struct RetryPolicy: Hashable, Sendable {
    /// Retries after the first failed attempt; 0 means none.
    public var attempts: Int
    /// The delay before each retry.
    public var backoff: Duration

    /// Makes a retry policy; the defaults match the manifest's (no retries).
    public init(attempts: Int = 0, backoff: Duration = .seconds(1)) {
        self.attempts = attempts
        self.backoff = backoff
    }
}
