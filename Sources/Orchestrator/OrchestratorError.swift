/// The one error type of the Orchestrator module: a stable `code` and a one-sentence message.
public struct OrchestratorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as an extensible set of codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's stable name.
        public let name: String

        /// Another supervisor runs for the manifest.
        public static let alreadyRunning = Code(name: "alreadyRunning")
        /// A supervisor that did not start or answer.
        public static let supervisorUnavailable = Code(name: "supervisorUnavailable")
        /// A daemon whose kind has no single run was asked for one (`orchestrate run`).
        public static let notRunnable = Code(name: "notRunnable")

        /// The code's name.
        public var description: String { name }
    }

    /// What went wrong.
    public var code: Code
    /// One sentence, starting lower-case.
    public var message: String

    /// Makes an error.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
