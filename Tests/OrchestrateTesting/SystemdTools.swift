import Foundation

/// systemd's own tools, which tell the tests what systemd makes of a unit: `systemd-analyze verify` (any output is a
/// warning), `systemd-analyze calendar` (when a calendar event elapses), and `systemd --test`, which loads units as
/// the service manager would and prints every setting as it was read.
public enum SystemdTools {
    /// The service manager's binary, which `--test` runs without starting anything.
    public static let manager = "/usr/lib/systemd/systemd"

    /// Whether this machine has systemd-analyze and the manager: the tests need both (CI's image has them).
    public static var available: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")
            && FileManager.default.isExecutableFile(atPath: manager)
    }

    /// `systemd-analyze [--user] verify PATHS…`; a unit that passes prints nothing at all and exits 0.
    public static func verify(_ paths: [String], user: Bool) throws -> CommandResult {
        var environment = ProcessInfo.processInfo.environment
        let runtime = try TemporaryDirectory(prefix: "systemd-runtime")
        defer { runtime.remove() }
        // The user manager needs a runtime folder; a test process may have none.
        environment["XDG_RUNTIME_DIR"] = runtime.path
        environment["SYSTEMD_LOG_COLOR"] = "0"
        return try TestProcess.run(
            ["/usr/bin/systemd-analyze"] + (user ? ["--user"] : []) + ["verify"] + paths,
            environment: environment
        )
    }

    /// The next `count` elapses of calendar `event` after `base`, in UTC, as systemd computes them.
    public static func elapses(of event: String, after base: Date, count: Int) throws -> [Date] {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        var environment = ProcessInfo.processInfo.environment
        environment["TZ"] = "UTC"
        let result = try TestProcess.run(
            [
                "/usr/bin/systemd-analyze", "calendar", "--iterations=\(count)",
                "--base-time=\(formatter.string(from: base)) UTC", event,
            ],
            environment: environment
        )
        guard result.status == 0 else { throw SystemdToolError(message: result.stderr) }
        // "    Next elapse: Thu 2026-01-01 00:15:00 UTC", "       Iter. #2: …"
        return result.stdout.split(separator: "\n").compactMap { line -> Date? in
            guard line.contains("Next elapse:") || line.contains("Iter. #") else { return nil }
            let words = line.split(separator: " ")
            guard words.count >= 4 else { return nil }
            return formatter.date(from: "\(words[words.count - 3]) \(words[words.count - 2])")
        }
    }

    /// The settings systemd read from unit `name` in `folder` (`Key: value` lines of `systemd --test`'s dump, in
    /// order). The manager refuses `--test` as root, so root runs it as nobody; `folder` must be readable by all.
    public static func settings(of name: String, in folder: String) throws -> [String] {
        var environment = ProcessInfo.processInfo.environment
        environment["SYSTEMD_UNIT_PATH"] = folder + ":"
        environment["SYSTEMD_LOG_TARGET"] = "console"
        environment["SYSTEMD_LOG_LEVEL"] = "err"
        let command = [manager, "--test", "--system", "--unit=\(name)", "--no-pager"]
        let asNobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        let result = try TestProcess.run(getuid() == 0 ? asNobody + command : command, environment: environment)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(of: "\t-> Unit \(name):") else {
            throw SystemdToolError(message: "no \(name) in systemd --test's dump: \(result.stderr)")
        }
        var settings: [String] = []
        for line in lines[(start + 1)...] {
            if line.hasPrefix("\t-> Unit ") || line.hasPrefix("-> ") { break }
            settings.append(String(line.drop { $0 == "\t" }))
        }
        return settings
    }

    /// The values of `key` in `settings` (`Environment: A=b` → `A=b`).
    public static func values(_ key: String, in settings: [String]) -> [String] {
        settings.compactMap { $0.hasPrefix(key + ": ") ? String($0.dropFirst(key.count + 2)) : nil }
    }

    /// The argv of a dumped `Command Line:` as the process will get it: systemd prints each word as a shell would
    /// read it (double quotes, `\` before `"`, `\`, `` ` `` and `$`, C escapes for control characters), and expands
    /// `$$` to `$` when it starts the command.
    public static func argv(ofCommandLine line: String) -> [String] {
        var words: [String] = []
        var word = ""
        var inWord = false
        var quoted = false
        var escaped = false
        var octal = ""
        for character in line {
            if !octal.isEmpty || escaped && ("0"..."7").contains(character) {
                // `\001`: three octal digits, for a control character.
                octal.append(character)
                escaped = false
                if octal.count == 3 {
                    word.unicodeScalars.append(Unicode.Scalar(UInt8(octal, radix: 8) ?? 0))
                    octal = ""
                }
            } else if escaped {
                let controls: [Character: UInt8] = ["a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13]
                if let control = controls[character] {
                    word.unicodeScalars.append(Unicode.Scalar(control))
                } else {
                    word.append(character)
                }
                escaped = false
            } else if character == "\\" {
                escaped = true
                inWord = true
            } else if character == "\"" {
                quoted.toggle()
                inWord = true
            } else if character == " ", !quoted {
                if inWord { words.append(word) }
                word = ""
                inWord = false
            } else {
                word.append(character)
                inWord = true
            }
        }
        if inWord { words.append(word) }
        return words.map { $0.replacingOccurrences(of: "$$", with: "$") }
    }
}

/// A systemd tool failed or printed something unexpected.
public struct SystemdToolError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
