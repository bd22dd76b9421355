/// A systemd unit file being written: sections of `Key=value` lines and comments, with each value quoted by the rule of
/// the setting it goes to (systemd.syntax(7), systemd.service(5)).
///
/// systemd reads settings three ways, and a value written for one is wrong in another: every setting expands
/// specifiers (`%n`, so a literal `%` is `%%`); `ExecStart=` also unquotes words, unescapes C escapes inside them and
/// expands `$VAR` (so `$` is `$$`); `Environment=` unquotes and unescapes but expands no variable (`$$` would stay two
/// dollars). `systemd --test` prints what systemd read, and the tests compare it with what was meant.
public struct UnitFile: Sendable, Hashable {
    /// The text so far.
    public private(set) var text = ""

    public init(comment: [String] = []) {
        for line in comment { self.comment(line) }
    }

    /// Starts `[name]`, after a blank line unless it is the first thing written.
    public mutating func section(_ name: String) {
        if !text.isEmpty { text += "\n" }
        text += "[\(name)]\n"
    }

    /// A `# …` line; comments are not read by systemd, so they need no quoting, only one line per line.
    public mutating func comment(_ line: String) {
        for part in line.split(separator: "\n", omittingEmptySubsequences: false) {
            text += part.isEmpty ? "#\n" : "# \(part)\n"
        }
    }

    /// `key=value`, the value written as it is: for values made here (numbers, durations, unit names, signals).
    public mutating func raw(_ key: String, _ value: String) {
        text += "\(key)=\(value)\n"
    }

    /// `key=value` for a setting that takes the rest of the line with specifiers only (`Description=`, `User=`,
    /// `WorkingDirectory=`): `%` doubled, line breaks and other control characters shown as `\xNN`, since these
    /// settings have no escape for them.
    public mutating func plain(_ key: String, _ value: String) {
        text += "\(key)=\(Self.specifiersEscaped(Self.controlsShown(value)))\n"
    }

    /// `ExecStart=` and its siblings: every argument quoted, argv[0] included.
    public mutating func command(_ key: String, _ arguments: [String]) {
        text += "\(key)=\(arguments.map(Self.quotedArgument).joined(separator: " "))\n"
    }

    /// `Environment="K=V"`, one line per variable, in the order given.
    public mutating func environment(_ variables: [(String, String)]) {
        for (name, value) in variables {
            text += "Environment=\(Self.quoted(name + "=" + value, dollars: false))\n"
        }
    }

    /// An argument of `ExecStart=`: in double quotes, with `\`, `"`, control characters, `%` and `$` escaped.
    public static func quotedArgument(_ argument: String) -> String { quoted(argument, dollars: true) }

    /// `value` in double quotes, with what systemd's unquoting, C unescaping and specifier expansion would change
    /// escaped; `$` doubled when the setting expands variables.
    static func quoted(_ value: String, dollars: Bool) -> String {
        var result = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "%": result += "%%"
            case "$" where dollars: result += "$$"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F: result += hexEscape(scalar)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// `%` doubled: the one character systemd changes in every setting.
    public static func specifiersEscaped(_ value: String) -> String { value.replacing("%", with: "%%") }

    /// Control characters shown as `\xNN`, for settings that cannot carry them.
    static func controlsShown(_ value: String) -> String {
        var result = ""
        for scalar in value.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                result += hexEscape(scalar)
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Whether `value` cannot be the value of a setting without quotes: systemd has no escape there for a line break
    /// or other control character, strips trailing blanks, and reads a trailing `\` as a line continuation.
    public static func cannotBePlain(_ value: String) -> Bool {
        value.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F } || value.hasSuffix(" ")
            || value.hasSuffix("\\")
    }

    /// A unit name made of `name`, by `systemd-escape`'s rules: `/` becomes `-`, a leading `.` and every byte outside
    /// `[A-Za-z0-9:_.]` becomes `\xNN`. `-` is kept when `keepDashes` is set: it is valid in a unit name, and every
    /// daemon name may use it, so `issues-sync` stays `issues-sync.service` rather than `issues\x2dsync.service`
    /// (no daemon or folder name holds a `/`, so nothing else turns into a `-`).
    public static func escapedName(_ name: String, keepDashes: Bool = true) -> String {
        var result = ""
        for (index, byte) in name.utf8.enumerated() {
            switch byte {
            case UInt8(ascii: "/"): result += "-"
            case UInt8(ascii: "-") where keepDashes: result += "-"
            case UInt8(ascii: ".") where index > 0: result += "."
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: ":"), UInt8(ascii: "_"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default: result += hexEscape(byte)
            }
        }
        return result
    }

    /// A duration as systemd reads it: whole seconds as `30s`, anything finer in milliseconds (`1500ms`).
    public static func timeSpan(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1_000 + attoseconds / 1_000_000_000_000_000
        if milliseconds % 1_000 == 0 { return "\(milliseconds / 1_000)s" }
        return "\(milliseconds)ms"
    }

    private static func hexEscape(_ scalar: Unicode.Scalar) -> String { hexEscape(UInt8(scalar.value)) }

    private static func hexEscape(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "\\x\(digits[Int(byte >> 4)])\(digits[Int(byte & 0x0F)])"
    }
}
