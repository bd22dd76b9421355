extension DaemonKitError.Code {
    /// Another supervisor holds the PID lock of the same state folder.
    public static let alreadyRunning = Self(name: "alreadyRunning")
}
