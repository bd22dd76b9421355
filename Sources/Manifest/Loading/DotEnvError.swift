/// A malformed line in a `.env` file, or a failed `${…}` substitution in one of its values.
struct DotEnvError: Error, Hashable, Sendable {
    /// What went wrong, in compose's wording where compose has one (without its `line N:` prefix).
    var message: String

    /// The 1-based line of the offending character.
    var line: Int

    /// The 1-based column, in Unicode scalars, of the offending character.
    var column: Int
}
