import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An HTTP server on a loopback port that records every request it gets (a webhook's receiving end), answering 200,
/// but 500 to the first `failures[PATH]` requests for PATH; stopped by ``stop()`` or when released.
public final class WebhookReceiver: @unchecked Sendable {
    // Safe: `requests` and `failures` are only touched under `lock`.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        /// Header names lower-cased.
        public var headers: [String: String]
        public var body: String
        public var receivedAt: Date
    }

    private let listener: LoopbackListener
    private let lock = NSLock()
    private var requests: [Request] = []
    private var failures: [String: Int]
    public var port: Int { listener.port }

    public init(failures: [String: Int] = [:]) throws {
        listener = try LoopbackListener()
        self.failures = failures
        let descriptor = listener.descriptor
        Thread { [weak self] in
            while true {
                let connection = accept(descriptor, nil, nil)
                guard connection >= 0 else { return }
                guard let self else {
                    close(connection)
                    return
                }
                self.serve(connection)
            }
        }.start()
    }

    /// What came so far, in order.
    public var received: [Request] {
        lock.lock()
        defer { lock.unlock() }
        return requests
    }

    public func stop() {
        shutdown(listener.descriptor, Int32(SHUT_RDWR))
        listener.stop()
    }

    deinit { stop() }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        var headerEnd: Int?
        var length = 0
        while headerEnd == nil || bytes.count < headerEnd! + length {
            let count = read(connection, &buffer, buffer.count)
            guard count > 0 else { return }
            bytes += buffer[..<count]
            if headerEnd == nil, let range = Self.find([13, 10, 13, 10], in: bytes) {
                headerEnd = range
                let head = String(decoding: bytes[..<range], as: UTF8.self)
                for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                    length = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
        }
        let head = String(decoding: bytes[..<headerEnd!], as: UTF8.self).split(separator: "\r\n").map(String.init)
        let requestLine = head.first?.split(separator: " ").map(String.init) ?? []
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        let body = String(decoding: bytes[(headerEnd! + 4)...].prefix(length), as: UTF8.self)
        lock.lock()
        requests.append(
            Request(
                method: requestLine.first ?? "",
                path: requestLine.count > 1 ? requestLine[1] : "",
                headers: headers,
                body: body,
                receivedAt: Date()
            )
        )
        let path = requestLine.count > 1 ? requestLine[1] : ""
        let status = failures[path, default: 0] > 0 ? 500 : 200
        failures[path, default: 0] -= 1
        lock.unlock()
        let answer = Array("HTTP/1.1 \(status) X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
        _ = answer.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8]) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        for index in 0...(bytes.count - needle.count) where Array(bytes[index..<index + needle.count]) == needle {
            return index
        }
        return nil
    }
}
