import DaemonKit

/// A five-field cron expression as systemd's calendar events (`OnCalendar=`, systemd.time(7)).
///
/// Each field is read into the set of values it selects and written back in systemd's syntax: `*`, a step from a
/// start to the end of the field (`0/15`), ranges (`1..5`), lists, weekday names (`Mon..Fri`). Reading the sets rather
/// than translating the text keeps the meaning where the two syntaxes differ: a cron step inside a range (`0-30/10`)
/// stops at its end while systemd's runs to the end of the field, and cron's weeks start on Sunday (`0-2` is
/// Sunday to Tuesday), systemd's on Monday.
///
/// Cron (Vixie's, as ``CronSchedule`` reads it) runs on a day that matches the day of the month *or* the day of the
/// week when both fields are restricted; a systemd event matches both. Such an expression becomes two events, one
/// for each field: a timer with several `OnCalendar=` lines elapses at each.
public enum CronCalendar {
    /// The calendar events equivalent to `cron`: one, or two when it restricts both day fields.
    public static func events(for cron: CronSchedule) -> [String] {
        let fields = expandedFields(cron.expression)
        guard fields.count == 5 else { return [] }
        let minute = values(fields[0], bounds: 0...59, names: [])
        let hour = values(fields[1], bounds: 0...23, names: [])
        let day = values(fields[2], bounds: 1...31, names: [])
        let month = values(fields[3], bounds: 1...12, names: monthNames)
        let weekday = values(fields[4], bounds: 0...7, names: weekdayNames).reduce(into: Set<Int>()) {
            $0.insert($1 % 7)
        }
        let time = "\(component(hour, bounds: 0...23)):\(component(minute, bounds: 0...59)):00"
        let monthText = component(month, bounds: 1...12)
        let dayText = component(day, bounds: 1...31)
        let weekdays = weekdayList(weekday)
        if !fields[2].hasPrefix("*"), !fields[4].hasPrefix("*") {
            // Either field matching is enough: a day-of-week field naming every day (`0-6`) matches every day.
            guard let weekdays else { return ["*-\(monthText)-* \(time)"] }
            return ["*-\(monthText)-\(dayText) \(time)", "\(weekdays) *-\(monthText)-* \(time)"]
        }
        return [(weekdays.map { $0 + " " } ?? "") + "*-\(monthText)-\(dayText) \(time)"]
    }

    private static let monthNames = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ]
    private static let weekdayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
    /// systemd's weekday names, Monday first as its weeks are.
    private static let systemdWeekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]

    /// The five fields of `expression`, macros expanded as ``CronSchedule`` expands them.
    private static func expandedFields(_ expression: String) -> [String] {
        let macros = [
            "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
            "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
        ]
        let words = expression.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        if words.count == 1, let expansion = macros[words[0].lowercased()] {
            return expansion.split(separator: " ").map(String.init)
        }
        return words
    }

    /// The values a (valid) cron field selects.
    private static func values(_ field: String, bounds: ClosedRange<Int>, names: [String]) -> Set<Int> {
        var selected = Set<Int>()
        for element in field.split(separator: ",") {
            let parts = element.split(separator: "/", maxSplits: 1)
            let step = parts.count == 2 ? Int(parts[1]) ?? 1 : 1
            var low = bounds.lowerBound
            var high = bounds.upperBound
            if parts[0] != "*" {
                let ends = parts[0].split(separator: "-", maxSplits: 1)
                low = value(ends[0], names: names, lowerBound: bounds.lowerBound, rangeStart: nil)
                if ends.count == 2 {
                    high = value(ends[1], names: names, lowerBound: bounds.lowerBound, rangeStart: low)
                } else if parts.count == 1 {
                    high = low
                }
            }
            selected.formUnion(stride(from: low, through: high, by: max(step, 1)))
        }
        return selected
    }

    /// A number or a name; `sun` ending a range that starts later in the week is 7, as ``CronSchedule`` reads it.
    private static func value(_ text: Substring, names: [String], lowerBound: Int, rangeStart: Int?) -> Int {
        if let number = Int(text) { return number }
        let index = names.firstIndex(of: text.lowercased()) ?? 0
        if names == weekdayNames, index == 0, let rangeStart, rangeStart > 0 { return 7 }
        return lowerBound + index
    }

    /// One component of a calendar event: `*`, `start/step` when the values step evenly to the end of the field,
    /// else a list of values and ranges.
    private static func component(_ values: Set<Int>, bounds: ClosedRange<Int>) -> String {
        let sorted = values.sorted()
        if sorted.count == bounds.count { return "*" }
        if sorted.count >= 3 {
            let step = sorted[1] - sorted[0]
            let even = zip(sorted, sorted.dropFirst()).allSatisfy { $1 - $0 == step }
            if even, step > 1, sorted[sorted.count - 1] + step > bounds.upperBound {
                return "\(two(sorted[0]))/\(step)"
            }
        }
        return runs(sorted).map { run in
            run.count >= 3 ? "\(two(run[0]))..\(two(run[run.count - 1]))" : run.map(two).joined(separator: ",")
        }.joined(separator: ",")
    }

    /// The weekdays (0 is Sunday) as systemd names them, Monday first; nil when every day is selected.
    private static func weekdayList(_ days: Set<Int>) -> String? {
        guard days.count < 7 else { return nil }
        let mondayFirst = days.map { ($0 + 6) % 7 }.sorted()
        return runs(mondayFirst).map { run in
            run.count >= 3
                ? "\(systemdWeekdays[run[0]])..\(systemdWeekdays[run[run.count - 1]])"
                : run.map { systemdWeekdays[$0] }.joined(separator: ",")
        }.joined(separator: ",")
    }

    /// `sorted` cut into runs of consecutive values.
    private static func runs(_ sorted: [Int]) -> [[Int]] {
        var runs: [[Int]] = []
        for value in sorted {
            if let last = runs.last?.last, last + 1 == value {
                runs[runs.count - 1].append(value)
            } else {
                runs.append([value])
            }
        }
        return runs
    }

    /// Two digits, as systemd normalizes them (`05`).
    private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
