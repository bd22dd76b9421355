import Foundation
import OrchestrateTesting
import Testing

@testable import DaemonKit

/// The values set in a field's bit set, in ascending order.
private func members(_ mask: UInt64) -> [Int] {
    (0..<64).filter { mask & (1 << UInt64($0)) != 0 }
}

private let utc = TimeZone(identifier: "UTC")!

/// A fixed instant from UTC components, so expectations do not depend on the machine's zone.
private func utcDate(
    _ year: Int,
    _ month: Int,
    _ day: Int,
    _ hour: Int = 0,
    _ minute: Int = 0,
    _ second: Int = 0
)
    -> Date
{
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = utc
    let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    return calendar.date(from: components)!
}

private func field(_ schedule: CronSchedule, _ field: CronField) -> [Int] {
    switch field {
    case .minute: members(schedule.minutes)
    case .hour: members(schedule.hours)
    case .dayOfMonth: members(schedule.daysOfMonth)
    case .month: members(schedule.months)
    case .dayOfWeek: members(schedule.daysOfWeek)
    }
}

struct CronScheduleTests {
    struct Parsing {
        struct FieldCase: Sendable, CustomTestStringConvertible {
            let expression: String
            let field: CronField
            let values: [Int]
            var testDescription: String { "'\(expression)' \(field.name)" }
        }

        static let fieldCases: [FieldCase] = [
            FieldCase(expression: "* * * * *", field: .minute, values: Array(0...59)),
            FieldCase(expression: "* * * * *", field: .hour, values: Array(0...23)),
            FieldCase(expression: "* * * * *", field: .dayOfMonth, values: Array(1...31)),
            FieldCase(expression: "* * * * *", field: .month, values: Array(1...12)),
            FieldCase(expression: "* * * * *", field: .dayOfWeek, values: Array(0...6)),
            FieldCase(expression: "5 * * * *", field: .minute, values: [5]),
            FieldCase(expression: "10-15 * * * *", field: .minute, values: Array(10...15)),
            FieldCase(expression: "*/15 * * * *", field: .minute, values: [0, 15, 30, 45]),
            FieldCase(expression: "10-30/10 * * * *", field: .minute, values: [10, 20, 30]),
            FieldCase(expression: "50/3 * * * *", field: .minute, values: [50, 53, 56, 59]),
            FieldCase(expression: "1,5,10-20/2 * * * *", field: .minute, values: [1, 5, 10, 12, 14, 16, 18, 20]),
            FieldCase(expression: "1,1,1-2 * * * *", field: .minute, values: [1, 2]),
            FieldCase(expression: "*/60 * * * *", field: .minute, values: [0]),
            FieldCase(expression: "* */6 * * *", field: .hour, values: [0, 6, 12, 18]),
            FieldCase(expression: "* 0,23 * * *", field: .hour, values: [0, 23]),
            FieldCase(expression: "* * 1,15,31 * *", field: .dayOfMonth, values: [1, 15, 31]),
            FieldCase(expression: "* * */10 * *", field: .dayOfMonth, values: [1, 11, 21, 31]),
            FieldCase(expression: "* * * jan,JUL,Dec *", field: .month, values: [1, 7, 12]),
            FieldCase(expression: "* * * Mar-mAy *", field: .month, values: [3, 4, 5]),
            FieldCase(expression: "* * * */3 *", field: .month, values: [1, 4, 7, 10]),
            FieldCase(expression: "* * * feb-4,oct/1 *", field: .month, values: [2, 3, 4, 10, 11, 12]),
            FieldCase(expression: "* * * * mon-fri", field: .dayOfWeek, values: [1, 2, 3, 4, 5]),
            FieldCase(expression: "* * * * 7", field: .dayOfWeek, values: [0]),
            FieldCase(expression: "* * * * 0,7", field: .dayOfWeek, values: [0]),
            FieldCase(expression: "* * * * 5-7", field: .dayOfWeek, values: [0, 5, 6]),
            FieldCase(expression: "* * * * SAT,sun", field: .dayOfWeek, values: [0, 6]),
            FieldCase(expression: "* * * * mon-sun", field: .dayOfWeek, values: Array(0...6)),
            FieldCase(expression: "* * * * sun-tue", field: .dayOfWeek, values: [0, 1, 2]),
            FieldCase(expression: "* * * * */2", field: .dayOfWeek, values: [0, 2, 4, 6]),
            FieldCase(expression: "* * * * 1-7/2", field: .dayOfWeek, values: [0, 1, 3, 5]),
            FieldCase(expression: "  0\t12  * *   *  ", field: .minute, values: [0]),
            FieldCase(expression: "  0\t12  * *   *  ", field: .hour, values: [12]),
        ]

        @Test(arguments: fieldCases)
        func expandsField(_ testCase: FieldCase) throws {
            let schedule = try CronSchedule(parsing: testCase.expression)
            #expect(field(schedule, testCase.field) == testCase.values)
            #expect(schedule.expression == testCase.expression)
            #expect(schedule.description == testCase.expression)
        }

        @Test(arguments: [
            ("* * * * *", true, true),
            ("* * 1 * *", false, true),
            ("* * * * 1", true, false),
            ("* * */2 * 1", true, false),
            ("* * 1 * */2", false, true),
            ("* * 1 * 1", false, false),
        ])
        func recordsWhichDayFieldsStartWithStar(
            expression: String,
            dayOfMonthIsStar: Bool,
            dayOfWeekIsStar: Bool
        ) throws {
            let schedule = try CronSchedule(parsing: expression)
            #expect(schedule.dayOfMonthIsStar == dayOfMonthIsStar)
            #expect(schedule.dayOfWeekIsStar == dayOfWeekIsStar)
        }

        @Test(arguments: [
            ("@yearly", "0 0 1 1 *"),
            ("@annually", "0 0 1 1 *"),
            ("@monthly", "0 0 1 * *"),
            ("@weekly", "0 0 * * 0"),
            ("@daily", "0 0 * * *"),
            ("@midnight", "0 0 * * *"),
            ("@hourly", "0 * * * *"),
            ("@DAILY", "0 0 * * *"),
            ("  @Weekly\t", "0 0 * * 0"),
        ])
        func expandsMacro(macro: String, equivalent: String) throws {
            let schedule = try CronSchedule(parsing: macro)
            let expected = try CronSchedule(parsing: equivalent)
            for cronField in CronField.allCases {
                #expect(field(schedule, cronField) == field(expected, cronField), "\(cronField.name)")
            }
            #expect(schedule.dayOfMonthIsStar == expected.dayOfMonthIsStar)
            #expect(schedule.dayOfWeekIsStar == expected.dayOfWeekIsStar)
            #expect(schedule.expression == macro)
            #expect(schedule != expected)
        }

        @Test func equalExpressionsAreEqualAndHashAlike() throws {
            let first = try CronSchedule(parsing: "*/5 * * * mon")
            let second = try CronSchedule(parsing: "*/5 * * * mon")
            let other = try CronSchedule(parsing: "*/5 * * * tue")
            #expect(first == second)
            #expect(Set([first, second, other]).count == 2)
        }

        struct ErrorCase: Sendable, CustomTestStringConvertible {
            let expression: String
            let message: String
            let offset: Int
            var testDescription: String { "'\(expression)'" }
        }

        static let errorCases: [ErrorCase] = [
            ErrorCase(
                expression: "* * * *",
                message: "expected 5 fields (minute hour day-of-month month day-of-week), found 4",
                offset: 7
            ),
            ErrorCase(
                expression: "* * * * * *",
                message: "expected 5 fields (minute hour day-of-month month day-of-week), found 6",
                offset: 10
            ),
            ErrorCase(
                expression: "",
                message: "expected 5 fields (minute hour day-of-month month day-of-week), found 0",
                offset: 0
            ),
            ErrorCase(expression: "61 * * * *", message: "minute 61 is out of range 0-59", offset: 0),
            ErrorCase(expression: "  61 * * * *", message: "minute 61 is out of range 0-59", offset: 2),
            ErrorCase(expression: "* 24 * * *", message: "hour 24 is out of range 0-23", offset: 2),
            ErrorCase(expression: "* * 0 * *", message: "day-of-month 0 is out of range 1-31", offset: 4),
            ErrorCase(expression: "* * 32 * *", message: "day-of-month 32 is out of range 1-31", offset: 4),
            ErrorCase(expression: "* * * 13 *", message: "month 13 is out of range 1-12", offset: 6),
            ErrorCase(expression: "* * * 0 *", message: "month 0 is out of range 1-12", offset: 6),
            ErrorCase(expression: "* * * * 8", message: "day-of-week 8 is out of range 0-7", offset: 8),
            ErrorCase(expression: "1,3-70 * * * *", message: "minute 70 is out of range 0-59", offset: 4),
            ErrorCase(
                expression: "1-99999999999999999999 * * * *",
                message: "minute 99999999999999999999 is out of range 0-59",
                offset: 2
            ),
            ErrorCase(expression: "* 5-2 * * *", message: "range 5-2 in hour is inverted", offset: 2),
            ErrorCase(expression: "* * * * fri-mon", message: "range fri-mon in day-of-week is inverted", offset: 8),
            ErrorCase(expression: "* * * DEC-jan *", message: "range DEC-jan in month is inverted", offset: 6),
            ErrorCase(expression: "*/0 * * * *", message: "step 0 in minute must be at least 1", offset: 2),
            ErrorCase(expression: "* 1-5/0 * * *", message: "step 0 in hour must be at least 1", offset: 6),
            ErrorCase(expression: "*/61 * * * *", message: "step 61 in minute is out of range 1-60", offset: 2),
            ErrorCase(expression: "* * * jam *", message: "unknown month name 'jam'", offset: 6),
            ErrorCase(expression: "* * * * monday", message: "unknown day-of-week name 'monday'", offset: 8),
            ErrorCase(expression: "* * * * mon-frx", message: "unknown day-of-week name 'frx'", offset: 12),
            ErrorCase(expression: "abc * * * *", message: "unexpected name 'abc' in minute", offset: 0),
            ErrorCase(expression: "* * jan * *", message: "unexpected name 'jan' in day-of-month", offset: 4),
            ErrorCase(expression: "1,,2 * * * *", message: "empty list element in minute", offset: 2),
            ErrorCase(expression: "1, * * * *", message: "empty list element in minute", offset: 2),
            ErrorCase(expression: "* ,1 * * *", message: "empty list element in hour", offset: 2),
            ErrorCase(expression: "1#2 * * * *", message: "unexpected character '#' in minute", offset: 1),
            ErrorCase(expression: "* * ? * *", message: "unexpected character '?' in day-of-month", offset: 4),
            ErrorCase(expression: "*-5 * * * *", message: "unexpected character '-' in minute", offset: 1),
            ErrorCase(expression: "1-2-3 * * * *", message: "unexpected character '-' in minute", offset: 3),
            ErrorCase(expression: "*/x * * * *", message: "unexpected character 'x' in minute", offset: 2),
            ErrorCase(expression: "5- * * * *", message: "expected a value after '-' in minute", offset: 2),
            ErrorCase(expression: "*/ * * * *", message: "expected a step after '/' in minute", offset: 2),
            ErrorCase(
                expression: "@reboot",
                message: "@reboot is not supported, only schedules that name times are",
                offset: 0
            ),
            ErrorCase(expression: "@fortnightly", message: "unknown macro '@fortnightly'", offset: 0),
            ErrorCase(expression: "@daily 5", message: "unexpected text after macro '@daily'", offset: 7),
        ]

        @Test(arguments: errorCases)
        func rejects(_ testCase: ErrorCase) {
            #expect {
                _ = try CronSchedule(parsing: testCase.expression)
            } throws: { error in
                guard let error = error as? DaemonKitError else { return false }
                return error.code == .invalidCron && error.message == testCase.message
                    && error.offset == testCase.offset
            }
        }

        @Test func errorDescriptionCarriesOffset() throws {
            let error = try #require(throws: DaemonKitError.self) { try CronSchedule(parsing: "* 24 * * *") }
            #expect(error.description == "hour 24 is out of range 0-23 (at offset 2)")
        }
    }

    struct Next {
        struct NextCase: Sendable, CustomTestStringConvertible {
            let expression: String
            let after: Date
            let expected: Date?
            let note: String
            var testDescription: String { "'\(expression)' \(note)" }
        }

        // 2026-01-01 is a Thursday; 2026-01-02 a Friday; 2026-01-13 a Tuesday.
        static let utcCases: [NextCase] = [
            NextCase(
                expression: "* * * * *",
                after: utcDate(2026, 1, 1, 0, 0),
                expected: utcDate(2026, 1, 1, 0, 1),
                note: "is strictly after a whole minute"
            ),
            NextCase(
                expression: "* * * * *",
                after: utcDate(2026, 1, 1, 0, 0, 30),
                expected: utcDate(2026, 1, 1, 0, 1),
                note: "drops seconds"
            ),
            NextCase(
                expression: "30 * * * *",
                after: utcDate(2026, 1, 1, 10, 30),
                expected: utcDate(2026, 1, 1, 11, 30),
                note: "crosses an hour"
            ),
            NextCase(
                expression: "15 3 * * *",
                after: utcDate(2026, 1, 1, 3, 16),
                expected: utcDate(2026, 1, 2, 3, 15),
                note: "crosses a day"
            ),
            NextCase(
                expression: "0 0 * * *",
                after: utcDate(2026, 1, 31, 12, 0),
                expected: utcDate(2026, 2, 1, 0, 0),
                note: "crosses a month"
            ),
            NextCase(
                expression: "0 0 1 1 *",
                after: utcDate(2026, 6, 15),
                expected: utcDate(2027, 1, 1),
                note: "crosses a year"
            ),
            NextCase(
                expression: "59 23 31 12 *",
                after: utcDate(2026, 12, 31, 23, 59),
                expected: utcDate(2027, 12, 31, 23, 59),
                note: "last minute of the year"
            ),
            NextCase(
                expression: "0 0 31 * *",
                after: utcDate(2026, 1, 31),
                expected: utcDate(2026, 3, 31),
                note: "skips months without day 31"
            ),
            NextCase(
                expression: "0 0 1 */5 *",
                after: utcDate(2026, 11, 2),
                expected: utcDate(2027, 1, 1),
                note: "month step wraps the year"
            ),
            NextCase(
                expression: "0 0 29 2 *",
                after: utcDate(2026, 3, 1),
                expected: utcDate(2028, 2, 29),
                note: "waits for a leap year"
            ),
            NextCase(
                expression: "0 0 29 2 *",
                after: utcDate(2028, 2, 29),
                expected: utcDate(2032, 2, 29),
                note: "from one leap day to the next"
            ),
            NextCase(
                expression: "0 0 29 2 *",
                after: utcDate(2097, 3, 1),
                expected: utcDate(2104, 2, 29),
                note: "2100 is not a leap year"
            ),
            NextCase(
                expression: "0 0 13 * fri",
                after: utcDate(2026, 1, 1),
                expected: utcDate(2026, 1, 2),
                note: "either day field: the Friday"
            ),
            NextCase(
                expression: "0 0 13 * fri",
                after: utcDate(2026, 1, 10),
                expected: utcDate(2026, 1, 13),
                note: "either day field: the 13th, a Tuesday"
            ),
            NextCase(
                expression: "0 0 */2 * fri",
                after: utcDate(2026, 1, 1),
                expected: utcDate(2026, 1, 9),
                note: "day-of-month starting with * needs both: odd day and Friday"
            ),
            NextCase(
                expression: "0 0 13 * *",
                after: utcDate(2026, 1, 1),
                expected: utcDate(2026, 1, 13),
                note: "unrestricted day-of-week"
            ),
            NextCase(
                expression: "0 0 * * 7",
                after: utcDate(2026, 1, 1),
                expected: utcDate(2026, 1, 4),
                note: "7 is Sunday"
            ),
            NextCase(
                expression: "0 12 * * mon-fri",
                after: utcDate(2026, 1, 2, 13, 0),
                expected: utcDate(2026, 1, 5, 12, 0),
                note: "skips the weekend"
            ),
            NextCase(
                expression: "10-20/5 8-10 * * *",
                after: utcDate(2026, 1, 1, 8, 11),
                expected: utcDate(2026, 1, 1, 8, 15),
                note: "range step within the hour"
            ),
            NextCase(
                expression: "10-20/5 8-10 * * *",
                after: utcDate(2026, 1, 1, 10, 20),
                expected: utcDate(2026, 1, 2, 8, 10),
                note: "range step past the last hour"
            ),
            NextCase(
                expression: "@yearly",
                after: utcDate(2026, 5, 5),
                expected: utcDate(2027, 1, 1),
                note: "macro"
            ),
            NextCase(
                expression: "0 0 30 2 *",
                after: utcDate(2026, 1, 1),
                expected: nil,
                note: "February 30 never comes"
            ),
            NextCase(
                expression: "0 0 31 4,6,9,11 *",
                after: utcDate(2026, 1, 1),
                expected: nil,
                note: "30-day months have no 31st"
            ),
        ]

        @Test(arguments: utcCases)
        func findsNextInUTC(_ testCase: NextCase) throws {
            let schedule = try CronSchedule(parsing: testCase.expression)
            let next = schedule.next(after: testCase.after, in: utc)
            #expect(next == testCase.expected)
            if let next {
                #expect(schedule.matches(next, in: utc))
            }
        }

        @Test(arguments: [
            ("0 12 * * mon-fri", utcDate(2026, 1, 2, 12, 0), true),
            ("0 12 * * mon-fri", utcDate(2026, 1, 2, 12, 0, 59), true),
            ("0 12 * * mon-fri", utcDate(2026, 1, 3, 12, 0), false),
            ("0 12 * * mon-fri", utcDate(2026, 1, 2, 12, 1), false),
            ("0 0 13 * fri", utcDate(2026, 1, 13), true),
            ("0 0 13 * fri", utcDate(2026, 1, 16), true),
            ("0 0 13 * fri", utcDate(2026, 1, 14), false),
            ("0 0 * * sun", utcDate(2026, 1, 4), true),
            ("* * * feb *", utcDate(2026, 3, 1), false),
        ])
        func matches(expression: String, date: Date, expected: Bool) throws {
            let schedule = try CronSchedule(parsing: expression)
            #expect(schedule.matches(date, in: utc) == expected)
        }

        @Test func usesTheGivenTimeZone() throws {
            let tokyo = try #require(TimeZone(identifier: "Asia/Tokyo"))
            let schedule = try CronSchedule(parsing: "0 9 * * *")
            // 09:00 in Tokyo is 00:00 UTC.
            #expect(schedule.next(after: utcDate(2026, 1, 1, 12), in: tokyo) == utcDate(2026, 1, 2, 0, 0))
            #expect(schedule.matches(utcDate(2026, 1, 2, 0, 0), in: tokyo))
            #expect(!schedule.matches(utcDate(2026, 1, 2, 0, 0), in: utc))
        }

        // New York: clocks go from 02:00 EST to 03:00 EDT at 07:00Z on 2026-03-08,
        // and from 02:00 EDT back to 01:00 EST at 06:00Z on 2026-11-01.
        static let newYorkCases: [NextCase] = [
            NextCase(
                expression: "30 2 * * *",
                after: utcDate(2026, 3, 7, 17, 0),
                expected: utcDate(2026, 3, 9, 6, 30),
                note: "02:30 does not exist on March 8 and is skipped"
            ),
            NextCase(
                expression: "0 3 * * *",
                after: utcDate(2026, 3, 8, 5, 0),
                expected: utcDate(2026, 3, 8, 7, 0),
                note: "03:00 EDT right after the gap"
            ),
            NextCase(
                expression: "0 * * * *",
                after: utcDate(2026, 3, 8, 6, 0),
                expected: utcDate(2026, 3, 8, 7, 0),
                note: "01:00 EST is followed by 03:00 EDT"
            ),
            NextCase(
                expression: "*/30 * * * *",
                after: utcDate(2026, 3, 8, 6, 30),
                expected: utcDate(2026, 3, 8, 7, 0),
                note: "01:30 EST is followed by 03:00 EDT"
            ),
            NextCase(
                expression: "30 1 * * *",
                after: utcDate(2026, 10, 31, 16, 0),
                expected: utcDate(2026, 11, 1, 5, 30),
                note: "repeated 01:30 fires at its first occurrence (EDT)"
            ),
            NextCase(
                expression: "30 1 * * *",
                after: utcDate(2026, 11, 1, 5, 30),
                expected: utcDate(2026, 11, 2, 6, 30),
                note: "repeated 01:30 does not fire again in EST"
            ),
            NextCase(
                expression: "*/15 * * * *",
                after: utcDate(2026, 11, 1, 5, 45),
                expected: utcDate(2026, 11, 1, 7, 0),
                note: "01:45 EDT is followed by 02:00 EST"
            ),
            NextCase(
                expression: "*/15 * * * *",
                after: utcDate(2026, 11, 1, 6, 10),
                expected: utcDate(2026, 11, 1, 7, 0),
                note: "inside the repeated hour nothing fires again"
            ),
            NextCase(
                expression: "0 2 * * *",
                after: utcDate(2026, 10, 31, 16, 0),
                expected: utcDate(2026, 11, 1, 7, 0),
                note: "02:00 EST on the fall-back day"
            ),
        ]

        @Test(arguments: newYorkCases)
        func handlesDaylightSavingTime(_ testCase: NextCase) throws {
            let newYork = try #require(TimeZone(identifier: "America/New_York"))
            let schedule = try CronSchedule(parsing: testCase.expression)
            let next = schedule.next(after: testCase.after, in: newYork)
            #expect(next == testCase.expected)
            if let next {
                #expect(schedule.matches(next, in: newYork))
            }
        }

        @Test func everyMinuteAcrossSpringForwardIsContinuous() throws {
            let newYork = try #require(TimeZone(identifier: "America/New_York"))
            let schedule = try CronSchedule(parsing: "* * * * *")
            var date = utcDate(2026, 3, 8, 6, 0)
            for _ in 0..<120 {
                let next = try #require(schedule.next(after: date, in: newYork))
                #expect(next.timeIntervalSince(date) == 60)
                date = next
            }
            #expect(date == utcDate(2026, 3, 8, 8, 0))
        }

        @Test func everyMinuteAcrossFallBackFiresTheRepeatedHourOnce() throws {
            let newYork = try #require(TimeZone(identifier: "America/New_York"))
            let schedule = try CronSchedule(parsing: "* * * * *")
            var fired: [Date] = []
            var date = utcDate(2026, 11, 1, 4, 0)  // 00:00 EDT
            while date < utcDate(2026, 11, 1, 7, 0) {
                date = try #require(schedule.next(after: date, in: newYork))
                fired.append(date)
            }
            // 00:01 through 01:59 EDT, then straight to 02:00 EST.
            #expect(fired.count == 120)
            #expect(fired.last == utcDate(2026, 11, 1, 7, 0))
            #expect(!fired.contains { $0 >= utcDate(2026, 11, 1, 6, 0) && $0 < utcDate(2026, 11, 1, 7, 0) })
        }

        @Test func thousandConsecutiveRunsEverySevenMinutes() throws {
            let schedule = try CronSchedule(parsing: "*/7 * * * *")
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = utc
            var previous = utcDate(2026, 12, 31, 20, 3, 17)
            for _ in 0..<1_000 {
                let next = try #require(schedule.next(after: previous, in: utc))
                #expect(next > previous)
                #expect(schedule.matches(next, in: utc))
                let components = calendar.dateComponents([.minute, .second], from: next)
                #expect(components.second == 0)
                #expect((components.minute ?? -1) % 7 == 0)
                // Within an hour the gap is 7 minutes; from :56 to the next :00 it is 4.
                let gap = next.timeIntervalSince(previous)
                #expect(gap <= 7 * 60)
                previous = next
            }
            #expect(previous > utcDate(2027, 1, 1))
        }

        @Test(
            .ownThread,
            arguments: [
                "*/7 * * * *", "0 0 13 * fri", "0 0 */2 * fri", "15,45 9-17 * * mon-fri", "0 0 1,15 * 3",
                "59 23 28-31 * *", "5 4 * jan,mar sun",
            ]
        )
        func agreesWithMinuteByMinuteScan(expression: String) throws {
            let schedule = try CronSchedule(parsing: expression)
            var date = utcDate(2026, 1, 27, 22, 0)
            var scan = date
            for _ in 0..<10 {
                let next = try #require(schedule.next(after: date, in: utc))
                repeat {
                    scan += 60
                } while !schedule.matches(scan, in: utc)
                #expect(next == scan)
                date = next
            }
        }
    }
}
