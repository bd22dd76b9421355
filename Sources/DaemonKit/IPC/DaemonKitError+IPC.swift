extension DaemonKitError.Code {
    /// No supervisor answers on the control socket.
    public static let notRunning = DaemonKitError.Code(name: "notRunning")
    /// Talking to the supervisor failed.
    public static let ipc = DaemonKitError.Code(name: "ipc")
    /// A server could not start: its key is not set, or its address cannot be bound.
    public static let serverUnavailable = DaemonKitError.Code(name: "serverUnavailable")
}
