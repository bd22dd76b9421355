import DaemonKit
import Synchronization

/// Compiled globs by pattern, so that validating and then decoding a manifest compiles each pattern
/// once (a manifest of many watchers repeats the same few patterns).
final class GlobCache: Sendable {
    /// The process's cache.
    static let shared = GlobCache()

    private let globs = Mutex<[String: Glob]>([:])

    /// The compiled `pattern`, or the reason it does not compile.
    func glob(_ pattern: String) throws(DaemonKitError) -> Glob {
        if let glob = globs.withLock({ $0[pattern] }) { return glob }
        let glob = try Glob(pattern)
        globs.withLock { $0[pattern] = glob }
        return glob
    }
}
