import FoundationEssentials

/// A wall-clock minute in the proleptic Gregorian calendar, with no time zone attached.
///
/// The cron search walks wall-clock fields with plain arithmetic, which is both faster than asking a
/// `Calendar` at every step and free of its choices about times that a time zone skips or repeats.
struct CivilTime: Hashable, Sendable {
    var year: Int
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int

    init(year: Int, month: Int, day: Int, hour: Int, minute: Int) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
    }

    /// The wall-clock minute that contains `date` according to `calendar` (seconds are dropped).
    init(_ date: Date, in calendar: Calendar) {
        let components = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        self.init(
            year: components.year ?? 1970,
            month: components.month ?? 1,
            day: components.day ?? 1,
            hour: components.hour ?? 0,
            minute: components.minute ?? 0
        )
    }

    /// The day of the week, 0 for Sunday through 6 for Saturday.
    var weekday: Int {
        // 1970-01-01 was a Thursday.
        let days = Self.daysSinceEpoch(year: year, month: month, day: day)
        return ((days + 4) % 7 + 7) % 7
    }

    /// Seconds since 1970-01-01 00:00 as if this wall-clock time were in UTC.
    var wallSeconds: Int {
        Self.daysSinceEpoch(year: year, month: month, day: day) * 86_400 + hour * 3_600 + minute * 60
    }

    /// The next wall-clock minute, rolling over hours, days, months and years.
    func addingMinute() -> CivilTime {
        var next = self
        next.minute += 1
        if next.minute == 60 {
            next.minute = 0
            next.hour += 1
        }
        if next.hour == 24 {
            next.hour = 0
            next.day += 1
        }
        if next.day > Self.daysInMonth(year: next.year, month: next.month) {
            next.day = 1
            next.month += 1
        }
        if next.month == 13 {
            next.month = 1
            next.year += 1
        }
        return next
    }

    static func isLeapYear(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to the given date (Howard Hinnant's `days_from_civil`), negative before it.
    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = (shiftedYear >= 0 ? shiftedYear : shiftedYear - 399) / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
