/// One of the five fields of a cron expression: its name in messages, its bounds and the names it accepts.
enum CronField: Int, CaseIterable, Sendable {
    case minute
    case hour
    case dayOfMonth
    case month
    case dayOfWeek

    /// How the field is called in error messages.
    var name: String {
        switch self {
        case .minute: "minute"
        case .hour: "hour"
        case .dayOfMonth: "day-of-month"
        case .month: "month"
        case .dayOfWeek: "day-of-week"
        }
    }

    /// The values the expression may write; day-of-week accepts 7 as a second spelling of Sunday.
    var bounds: ClosedRange<Int> {
        switch self {
        case .minute: 0...59
        case .hour: 0...23
        case .dayOfMonth: 1...31
        case .month: 1...12
        case .dayOfWeek: 0...7
        }
    }

    /// The three-letter names, in value order starting at `bounds.lowerBound`; empty when names are not accepted.
    var names: [String] {
        switch self {
        case .month: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        case .dayOfWeek: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        case .minute, .hour, .dayOfMonth: []
        }
    }
}
