/// What a daemon may ask of the supervisor about the other daemons: the `rpc` kind's built-in methods reach the
/// supervisor through it (`daemons.trigger`), as the control API does.
public protocol SupervisorLink: Sendable {
    /// Asks daemon `name` to run now; with `wait`, answers once the run has ended.
    func trigger(_ name: String, wait: Bool) async -> TriggerOutcome
}
