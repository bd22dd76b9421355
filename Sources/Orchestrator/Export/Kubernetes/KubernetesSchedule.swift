/// A periodic daemon's schedule as a CronJob's: the cron expression as written, or an interval that a cron
/// expression repeats exactly (whole minutes that divide an hour, whole hours that divide a day, a day).
public enum KubernetesSchedule {
    /// The cron expression that runs every `interval` at the same times of each hour or day, or nil when none does
    /// (30s, 45s, 7m, 90m, 5h, 2d): `* * * * *` for a minute, `*/N * * * *` for N minutes dividing 60, `0 * * * *`
    /// for an hour, `0 */N * * *` for N hours dividing 24, `0 0 * * *` for a day.
    public static func cron(forInterval interval: Duration) -> String? {
        let (seconds, attoseconds) = interval.components
        guard attoseconds == 0, seconds > 0, seconds % 60 == 0 else { return nil }
        let minutes = Int(seconds / 60)
        if minutes == 1 { return "* * * * *" }
        if minutes < 60 { return 60 % minutes == 0 ? "*/\(minutes) * * * *" : nil }
        guard minutes % 60 == 0 else { return nil }
        let hours = minutes / 60
        switch hours {
        case 1: return "0 * * * *"
        case 24: return "0 0 * * *"
        case _ where hours < 24 && 24 % hours == 0: return "0 */\(hours) * * *"
        default: return nil
        }
    }

    /// The time zone a CronJob reads a cron expression in, as orchestrate would on this machine: `TZ` when it names
    /// a zone (`Europe/Paris`, `UTC`; not a POSIX rule such as `CET-1` or a `:/path`), else the first line of
    /// `/etc/timezone` (`timezoneFile`), else nil (the cluster then reads it in UTC).
    public static func localTimeZone(environment: String?, timezoneFile: String?) -> String? {
        if let zone = environment.flatMap(zoneName) { return zone }
        return timezoneFile.flatMap { zoneName(String($0.split(separator: "\n").first ?? "")) }
    }

    /// `text` when it reads as an IANA zone name (letters, digits, `/`, `_`, `-`, `+`, starting with a letter).
    private static func zoneName(_ text: String) -> String? {
        guard let first = text.unicodeScalars.first, ("A"..."Z").contains(first) || ("a"..."z").contains(first),
            text.unicodeScalars.allSatisfy({
                ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0)
                    || "/_-+".unicodeScalars.contains($0)
            }),
            text.contains("/") || ["UTC", "GMT", "UCT", "Zulu"].contains(text)
        else { return nil }
        return text
    }
}
