/// Percent-encoding of URL path segments (RFC 3986), without Foundation.
public enum PercentEncoding {
    /// `text` with every `%XX` replaced by its byte, read as UTF-8; nil when a `%` is not followed by two hex digits
    /// or the bytes are not UTF-8.
    public static func decode(_ text: String) -> String? {
        guard text.utf8.contains(UInt8(ascii: "%")) else { return text }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// `text` as one path segment: everything but RFC 3986's unreserved characters and sub-delimiters (and `:` and
    /// `@`) is percent-encoded, `/` included.
    public static func encodePathSegment(_ text: String) -> String { encode(text, allowing: isAllowedInSegment) }

    /// `text` as a query parameter's name or value: everything but RFC 3986's unreserved characters is
    /// percent-encoded (`&`, `=` and `+` above all, which a query reads as separators or a space).
    public static func encodeQueryValue(_ text: String) -> String { encode(text, allowing: isUnreserved) }

    private static func encode(_ text: String, allowing allowed: (UInt8) -> Bool) -> String {
        var out = ""
        for byte in text.utf8 {
            if allowed(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func isAllowedInSegment(_ byte: UInt8) -> Bool {
        isUnreserved(byte) || "!$&'()*+,;=:@".utf8.contains(byte)
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default: "-._~".utf8.contains(byte)
        }
    }
}
