/// A malformed template, or a `${VAR:?message}` / `${VAR?message}` whose variable is missing.
struct InterpolationError: Error, Hashable, Sendable {
    /// What went wrong, in compose's wording: `invalid template: "…"` or
    /// `required variable VAR is missing a value[: message]`.
    var message: String

    /// Offset, in characters of the substituted text, of the offending template's `$`.
    var offset: Int

    /// The variable a `?`/`:?` template required; nil for a malformed template.
    var variable: String?
}
