/// Where a server listens: a TCP host and port, or a Unix domain socket path.
public enum ListenAddress: Hashable, Sendable, CustomStringConvertible {
    /// A TCP address; `host` is a name or an IP address without brackets, `port` 0 picks a free one.
    case tcp(host: String, port: Int)
    /// A Unix domain socket at `path`.
    case unix(path: String)

    /// Parses `127.0.0.1:8420`, `[::1]:8420`, `localhost:0`, `:8420` (every interface) or `unix:PATH`.
    /// Returns nil for text that is not such an address (including a port outside 0-65535).
    public init?(parsing text: String) {
        // Read byte by byte (every daemon that listens is parsed several times while a manifest loads): the
        // delimiters and digits are ASCII, and no byte of a multi-byte UTF-8 character is.
        let bytes = text.utf8
        if bytes.starts(with: "unix:".utf8) {
            guard bytes.count > 5 else { return nil }
            self = .unix(path: String(text.dropFirst(5)))
            return
        }
        let colon = UInt8(ascii: ":")
        let host: Substring.UTF8View
        let portText: Substring.UTF8View
        if bytes.first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            host = text[bytes.index(after: bytes.startIndex)..<close].utf8
            let rest = text[bytes.index(after: close)...].utf8
            guard rest.first == colon else { return nil }
            portText = rest.dropFirst()
            guard host.contains(colon) else { return nil }
        } else {
            guard let found = bytes.lastIndex(of: colon) else { return nil }
            host = text[..<found].utf8
            portText = text[bytes.index(after: found)...].utf8
            guard !host.contains(colon), !host.contains(UInt8(ascii: " ")) else { return nil }
        }
        guard !portText.isEmpty, portText.count <= 5,
            portText.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        let port = portText.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        guard port <= 65_535 else { return nil }
        self = .tcp(host: host.isEmpty ? "0.0.0.0" : String(Substring(host)), port: port)
    }

    /// Whether only this machine can reach the address: a Unix socket, `localhost`, 127.0.0.0/8 or `::1`.
    public var isLoopback: Bool {
        switch self {
        case .unix: return true
        case .tcp(let host, _):
            return host == "localhost" || host == "::1" || host.hasPrefix("127.")
        }
    }

    /// The address in the form it is parsed from.
    public var description: String {
        switch self {
        case .unix(let path): "unix:\(path)"
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }
}
