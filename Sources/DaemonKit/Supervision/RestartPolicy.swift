/// When and how fast a failed daemon service is started again.
///
/// A plain value filled in from the manifest; the supervisor's backoff state machine reads it.
public struct RestartPolicy: Hashable, Sendable {
    /// Which exits lead to a restart.
    public struct Mode: Hashable, Sendable, CustomStringConvertible {
        /// The mode's manifest name.
        public let name: String

        /// Restart after every exit.
        public static let always = Mode(name: "always")
        /// Restart after an exit with a non-zero status or a signal.
        public static let onFailure = Mode(name: "on-failure")
        /// Never restart.
        public static let never = Mode(name: "never")

        /// Every mode, in manifest order.
        public static let all: [Mode] = [.always, .onFailure, .never]

        /// The manifest name.
        public var description: String { name }
    }

    /// Which exits lead to a restart.
    public var mode: Mode
    /// The first delay before a restart.
    public var initialBackoff: Duration
    /// The longest delay; the backoff doubles up to it, and resets after a healthy stretch this long.
    public var maxBackoff: Duration
    /// How many failures within `window` park the daemon as failed.
    public var burst: Int
    /// The window the burst is counted in.
    public var window: Duration

    /// Makes a policy; the defaults match the manifest's.
    public init(
        mode: Mode = .onFailure,
        initialBackoff: Duration = .seconds(1),
        maxBackoff: Duration = .seconds(60),
        burst: Int = 5,
        window: Duration = .seconds(60)
    ) {
        self.mode = mode
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.burst = burst
        self.window = window
    }
}
