extension DaemonKitError.Code {
    /// No supervisor answers on the control socket.
    public static let notRunning = DaemonKitError.Code(name: "notRunning")
    /// Talking to the supervisor failed.
    public static let ipc = DaemonKitError.Code(name: "ipc")
}
