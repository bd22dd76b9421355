/// A command a daemon runs: an argv list executed directly, or a string run by `/bin/sh -c`.
public enum Command: Hashable, Sendable, CustomStringConvertible {
    /// The program and its arguments, executed without a shell.
    case argv([String])
    /// A shell command line.
    case shell(String)

    /// The argv to execute: the list itself, or `/bin/sh -c LINE`.
    public var arguments: [String] {
        switch self {
        case .argv(let argv): argv
        case .shell(let line): ["/bin/sh", "-c", line]
        }
    }

    /// The command as a user would type it.
    public var description: String {
        switch self {
        case .shell(let line): line
        case .argv(let argv): argv.map { $0.contains(" ") || $0.isEmpty ? "'\($0)'" : $0 }.joined(separator: " ")
        }
    }
}
