/// Where a server listens: a TCP host and port, or a Unix domain socket path.
public enum ListenAddress: Hashable, Sendable, CustomStringConvertible {
    /// A TCP address; `host` is a name or an IP address without brackets, `port` 0 picks a free one.
    case tcp(host: String, port: Int)
    /// A Unix domain socket at `path`.
    case unix(path: String)

    /// Parses `127.0.0.1:8420`, `[::1]:8420`, `localhost:0`, `:8420` (every interface) or `unix:PATH`.
    /// Returns nil for text that is not such an address (including a port outside 0-65535).
    public init?(parsing text: String) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            guard !path.isEmpty else { return nil }
            self = .unix(path: path)
            return
        }
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
            guard host.contains(":") else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !host.contains(":"), !host.contains(" ") else { return nil }
        }
        guard !portText.isEmpty, portText.allSatisfy(\.isASCII), portText.allSatisfy(\.isNumber),
            portText.count <= 5, let port = Int(portText), (0...65_535).contains(port)
        else { return nil }
        self = .tcp(host: host.isEmpty ? "0.0.0.0" : String(host), port: port)
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
