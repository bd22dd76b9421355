import CSupport
import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The child's stdin: a pipe pre-filled with the bytes to send.
///
/// What fits in the pipe (64 KiB, or up to `/proc/sys/fs/pipe-max-size` after `F_SETPIPE_SZ`) is written before
/// the spawn, without blocking; a remainder is written by a blocking loop on a global queue, which ends at the
/// latest when the run's process group is killed (the write fails with EPIPE; SIGPIPE is ignored).
final class InputPipe: Sendable {
    /// The end handed to the child (the runner closes it after the spawn).
    let readEnd: Int32
    private let writeEnd: Int32
    private let remainder: [UInt8]

    init(_ bytes: [UInt8]) throws {
        var descriptors: [Int32] = [-1, -1]
        guard csupport_pipe_cloexec(&descriptors) == 0 else {
            throw DaemonKitError(code: .processControl, message: "cannot create a pipe", errno: errno)
        }
        readEnd = descriptors[0]
        writeEnd = descriptors[1]
        if bytes.count > 65536 { _ = csupport_set_pipe_size(writeEnd, Int32(min(bytes.count, 1 << 20))) }
        _ = fcntl(writeEnd, F_SETFL, fcntl(writeEnd, F_GETFL) | O_NONBLOCK)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(descriptors[1], $0.baseAddress, $0.count) }
            if count > 0 {
                written += count
            } else if count < 0 && errno == EINTR {
                continue
            } else {
                break  // full: the rest is written after the spawn
            }
        }
        remainder = Array(bytes[written...])
        _ = fcntl(writeEnd, F_SETFL, fcntl(writeEnd, F_GETFL) & ~O_NONBLOCK)
    }

    /// Writes what did not fit, then closes the write end (at once when everything fitted).
    func finishWriting() {
        guard !remainder.isEmpty else {
            closeDescriptor(writeEnd)
            return
        }
        DispatchQueue.runBlocking { [writeEnd, remainder] in
            var written = 0
            while written < remainder.count {
                let count = remainder[written...].withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }
                if count > 0 {
                    written += count
                } else if count < 0 && errno == EINTR {
                    continue
                } else {
                    break  // EPIPE: the child is gone or closed its stdin
                }
            }
            closeDescriptor(writeEnd)
        }
    }

    /// Closes the write end of a pipe whose child was never spawned.
    func abandon() {
        closeDescriptor(writeEnd)
    }
}

private func closeDescriptor(_ descriptor: Int32) {
    _ = close(descriptor)
}
