import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP socket on a port the kernel picks, listening unless told not to; closed by ``stop()`` or when
/// released.
public final class LoopbackListener {
    public let descriptor: Int32
    public let port: Int
    private var closed = false

    public init(listening: Bool = true) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard descriptor >= 0, bound == 0, !listening || listen(descriptor, 8) == 0 else {
            if descriptor >= 0 { close(descriptor) }
            closed = true
            port = 0
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Closes the socket, once only (a second close could close a descriptor that another test has been given
    /// since, with the same number).
    public func stop() {
        guard !closed else { return }
        closed = true
        close(descriptor)
    }

    deinit { stop() }
}

/// A TCP port of 127.0.0.1 that nothing listens on now, from the kernel (bound to port 0, then released).
public func freeLoopbackPort() -> Int? {
    guard let socket = try? LoopbackListener(listening: false) else { return nil }
    socket.stop()
    return socket.port
}
