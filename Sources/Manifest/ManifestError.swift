/// One problem with a manifest: where it is, which field, what was expected and found, and a suggestion.
///
/// Loading collects every problem of a file before it fails, so a user fixes them all in one pass;
/// ``ManifestErrors`` carries the list.
public struct ManifestError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The class of problem, as an extensible set of codes.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's stable name.
        public let name: String

        /// The file could not be read.
        public static let unreadable = Code(name: "unreadable")
        /// The YAML itself is malformed (libyaml's problem text).
        public static let syntax = Code(name: "syntax")
        /// Alias expansion exceeded the loader's bound.
        public static let tooLarge = Code(name: "tooLarge")
        /// A key appears twice in one mapping.
        public static let duplicateKey = Code(name: "duplicateKey")
        /// A key the model does not have.
        public static let unknownKey = Code(name: "unknownKey")
        /// A required key is missing.
        public static let missingKey = Code(name: "missingKey")
        /// A value of the wrong type or format, or out of bounds.
        public static let invalidValue = Code(name: "invalidValue")
        /// A malformed `${…}` template, or a `${VAR:?message}` whose variable is missing.
        public static let interpolation = Code(name: "interpolation")
        /// A malformed `env_file`.
        public static let envFile = Code(name: "envFile")
        /// An `ORCHESTRATE__…` variable or `--set` that names nothing, or is malformed.
        public static let override = Code(name: "override")
        /// A reference to a daemon that does not exist or cannot be used (`depends_on`).
        public static let reference = Code(name: "reference")
        /// A `depends_on` cycle.
        public static let cycle = Code(name: "cycle")
        /// A daemon named by `up --only` or `--except` is not in the manifest.
        public static let selection = Code(name: "selection")

        /// The code's name.
        public var description: String { name }
    }

    /// The class of problem.
    public var code: Code
    /// Where the offending value came from, when known.
    public var origin: ValueOrigin?
    /// The dotted path of the field, such as `daemons.code-atlas.debounce`; empty for the document.
    public var path: String
    /// What is wrong: one sentence, lower-case, usually "expected …, found …".
    public var message: String
    /// A fix, such as `did you mean 'interval'?`.
    public var suggestion: String?

    /// Makes an error.
    public init(code: Code, origin: ValueOrigin?, path: String, message: String, suggestion: String? = nil) {
        self.code = code
        self.origin = origin
        self.path = path
        self.message = message
        self.suggestion = suggestion
    }

    /// `daemons.yaml:7:15: daemons.code-atlas.debounce: expected …, found …; did you mean …?`
    public var description: String {
        var text = ""
        if let origin { text += origin.label + ": " }
        if !path.isEmpty { text += path + ": " }
        text += message
        if let suggestion { text += "; " + suggestion }
        return text
    }
}

/// Every problem found in a manifest, in the order of the file.
public struct ManifestErrors: Error, Sendable, CustomStringConvertible {
    /// The problems, sorted by location.
    public var errors: [ManifestError]

    /// Makes the list, sorting file locations first by line and column, then overrides.
    public init(_ errors: [ManifestError]) {
        self.errors = errors.sorted { lhs, rhs in lhs.sortKey < rhs.sortKey }
    }

    /// One problem per line.
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

extension ManifestError {
    fileprivate var sortKey: SortKey {
        switch origin {
        case .file(let path, let line, let column): SortKey(rank: 0, file: path, line: line, column: column, text: path)
        case .environment(let name): SortKey(rank: 1, file: "", line: 0, column: 0, text: name)
        case .commandLine(let argument): SortKey(rank: 2, file: "", line: 0, column: 0, text: argument)
        case .builtInDefault, nil: SortKey(rank: 3, file: "", line: 0, column: 0, text: self.path)
        }
    }
}

private struct SortKey: Comparable {
    var rank: Int
    var file: String
    var line: Int
    var column: Int
    var text: String

    static func < (lhs: SortKey, rhs: SortKey) -> Bool {
        (lhs.rank, lhs.file, lhs.line, lhs.column, lhs.text) < (rhs.rank, rhs.file, rhs.line, rhs.column, rhs.text)
    }
}
