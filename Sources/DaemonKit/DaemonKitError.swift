/// The one error type of DaemonKit: a stable `code` that callers can switch on, a one-sentence message,
/// and the context that locates the problem (an offset in a pattern, the errno of a failed call).
public struct DaemonKitError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as an extensible set of codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's stable name.
        public let name: String

        /// A glob pattern that cannot be compiled.
        public static let invalidGlob = Code(name: "invalidGlob")
        /// A cron expression that cannot be parsed.
        public static let invalidCron = Code(name: "invalidCron")
        /// A file system operation that failed.
        public static let fileSystem = Code(name: "fileSystem")

        /// The code's name.
        public var description: String { name }
    }

    /// What went wrong.
    public var code: Code
    /// One sentence, starting lower-case, without a location.
    public var message: String
    /// The character offset in the input (pattern, expression) where the problem is, when there is one.
    public var offset: Int?
    /// The `errno` of a failed system call, when there is one.
    public var errno: Int32?

    /// Makes an error.
    public init(code: Code, message: String, offset: Int? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.offset = offset
        self.errno = errno
    }

    /// The message, with the offset when there is one.
    public var description: String {
        if let offset { return "\(message) (at offset \(offset))" }
        return message
    }
}
