/// The result of substituting one string with ``Interpolation``.
struct Substitution: Hashable, Sendable {
    /// The substituted text.
    var value: String

    /// Variables referenced without a default (`$VAR`, `${VAR}`) that were unset, each once, in order of first
    /// use. Compose warns for each: "The "VAR" variable is not set. Defaulting to a blank string."
    var unsetVariables: [String]
}
