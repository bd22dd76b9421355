import FoundationEssentials

extension CronSchedule {
    /// How far `next(after:in:)` looks ahead. Every satisfiable expression fires within 8 years (the longest
    /// wait is February 29 across a century that is not a leap year), so `nil` means "never" and not "later".
    static let searchHorizonInYears = 8

    /// The first whole minute strictly after `date` that matches, in the wall-clock time of `timeZone`;
    /// `nil` when the expression never matches (such as `0 0 30 2 *`).
    ///
    /// Wall-clock times that `timeZone` skips (a spring-forward gap) never fire, and times that it repeats
    /// (a fall-back overlap) fire once, at their first occurrence.
    public func next(after date: Date, in timeZone: TimeZone = .current) -> Date? {
        let start = CivilTime(date, in: Self.calendar(in: timeZone)).addingMinute()
        let lastYear = start.year + Self.searchHorizonInYears
        var from = start
        while let candidate = nextMatchingWallTime(from: from, lastYear: lastYear) {
            // A skipped time has no instant; a repeated time whose first occurrence is not after `date`
            // has already fired (or belongs to the past), so both move on to the next matching minute.
            if let instant = Self.firstInstant(of: candidate, in: timeZone), instant > date {
                return instant
            }
            from = candidate.addingMinute()
        }
        return nil
    }

    /// Whether the wall-clock minute containing `date` in `timeZone` matches; seconds are ignored.
    public func matches(_ date: Date, in timeZone: TimeZone = .current) -> Bool {
        let time = CivilTime(date, in: Self.calendar(in: timeZone))
        return matches(time)
    }

    func matches(_ time: CivilTime) -> Bool {
        Self.contains(months, time.month) && dayMatches(time) && Self.contains(hours, time.hour)
            && Self.contains(minutes, time.minute)
    }

    /// The first matching wall-clock minute at or after `time`, skipping whole months, days and hours that
    /// cannot match; `nil` once the search passes the end of `lastYear`.
    func nextMatchingWallTime(from time: CivilTime, lastYear: Int) -> CivilTime? {
        var time = time
        while time.year <= lastYear {
            if !Self.contains(months, time.month) {
                if let month = Self.firstMember(of: months, atOrAfter: time.month + 1) {
                    time.month = month
                } else {
                    time.year += 1
                    time.month = Self.firstMember(of: months, atOrAfter: 1) ?? 1
                }
                time.day = 1
                time.hour = 0
                time.minute = 0
            } else if time.day > CivilTime.daysInMonth(year: time.year, month: time.month) {
                time.month += 1
                if time.month == 13 {
                    time.month = 1
                    time.year += 1
                }
                time.day = 1
                time.hour = 0
                time.minute = 0
            } else if !dayMatches(time) {
                time.day += 1
                time.hour = 0
                time.minute = 0
            } else if !Self.contains(hours, time.hour) {
                if let hour = Self.firstMember(of: hours, atOrAfter: time.hour + 1), hour < 24 {
                    time.hour = hour
                } else {
                    time.day += 1
                    time.hour = 0
                }
                time.minute = 0
            } else if !Self.contains(minutes, time.minute) {
                if let minute = Self.firstMember(of: minutes, atOrAfter: time.minute + 1), minute < 60 {
                    time.minute = minute
                } else {
                    time.minute = 0
                    time.hour += 1
                    if time.hour == 24 {
                        time.hour = 0
                        time.day += 1
                    }
                }
            } else {
                return time
            }
        }
        return nil
    }

    private func dayMatches(_ time: CivilTime) -> Bool {
        let dayOfMonth = Self.contains(daysOfMonth, time.day)
        let dayOfWeek = Self.contains(daysOfWeek, time.weekday)
        if dayOfMonthIsStar || dayOfWeekIsStar {
            return dayOfMonth && dayOfWeek
        }
        return dayOfMonth || dayOfWeek
    }

    /// The earliest instant whose wall-clock time in `timeZone` is `time`, or `nil` when the zone skips it.
    ///
    /// Offsets a day either side cover any single transition, and an offset is only accepted if the zone
    /// really uses it at the instant it yields.
    static func firstInstant(of time: CivilTime, in timeZone: TimeZone) -> Date? {
        let wall = time.wallSeconds
        var offsets: Set<Int> = []
        for probe in [wall - 86_400, wall, wall + 86_400] {
            offsets.insert(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(probe))))
        }
        var first: Int?
        for offset in offsets {
            let instant = wall - offset
            let actual = timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant)))
            if actual == offset, first.map({ instant < $0 }) ?? true {
                first = instant
            }
        }
        return first.map { Date(timeIntervalSince1970: TimeInterval($0)) }
    }

    private static func calendar(in timeZone: TimeZone) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    private static func contains(_ mask: UInt64, _ value: Int) -> Bool {
        value >= 0 && value < 64 && mask & (1 << UInt64(value)) != 0
    }

    private static func firstMember(of mask: UInt64, atOrAfter value: Int) -> Int? {
        guard value < 64 else { return nil }
        let remaining = mask >> UInt64(value)
        return remaining == 0 ? nil : value + remaining.trailingZeroBitCount
    }
}
