extension DaemonKitError.Code {
    /// A command's program that cannot be found or executed.
    public static let commandNotFound = DaemonKitError.Code(name: "commandNotFound")
    /// A child process that could not be spawned.
    public static let spawnFailed = DaemonKitError.Code(name: "spawnFailed")
    /// A process-control call (`prctl`, `pipe`) that failed.
    public static let processControl = DaemonKitError.Code(name: "processControl")
}
