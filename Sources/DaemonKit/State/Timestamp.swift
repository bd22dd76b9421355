import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Times as the logs and the event lines write them: ISO 8601 in UTC, to the millisecond
/// (`2026-11-26T19:28:28.123Z`).
public enum Timestamp {
    /// `date`, rounded to the millisecond.
    public static func text(_ date: Date) -> String { String(decoding: bytes(date), as: UTF8.self) }

    /// The time `text` writes: ISO 8601 with or without a fraction of a second; nil when it is not one.
    public static func parse(_ text: String) -> Date? {
        (try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
            ?? (try? Date(text, strategy: .iso8601))
    }

    /// `2026-11-26T19:28:28.123Z` for `date`, as UTF-8.
    public static func bytes(_ date: Date) -> [UInt8] {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        var seconds = milliseconds / 1000
        var fraction = milliseconds % 1000
        if fraction < 0 {
            fraction += 1000
            seconds -= 1
        }
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var text: [UInt8] = []
        text.reserveCapacity(25)
        func append(_ value: Int, digits: Int) {
            var divisor = 1
            for _ in 1..<digits { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                text.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        append(Int(parts.tm_year) + 1900, digits: 4)
        text.append(UInt8(ascii: "-"))
        append(Int(parts.tm_mon) + 1, digits: 2)
        text.append(UInt8(ascii: "-"))
        append(Int(parts.tm_mday), digits: 2)
        text.append(UInt8(ascii: "T"))
        append(Int(parts.tm_hour), digits: 2)
        text.append(UInt8(ascii: ":"))
        append(Int(parts.tm_min), digits: 2)
        text.append(UInt8(ascii: ":"))
        append(Int(parts.tm_sec), digits: 2)
        text.append(UInt8(ascii: "."))
        append(Int(fraction), digits: 3)
        text.append(UInt8(ascii: "Z"))
        return text
    }

}
