import DaemonKit
import Synchronization

/// Compiled globs by pattern, so that validating and then decoding a manifest compiles each pattern
/// once (a manifest of many watchers repeats the same few patterns).
///
/// Bounded: a supervisor loads its manifest again on every reload, and each edit may bring new patterns, so an
/// unbounded cache would grow for the supervisor's whole life (the manifest fuzzer, loading millions of
/// manifests, grew it to 650 MB). Past ``limit`` patterns it starts again empty. The limit is small because a
/// pattern can expand to 1,024 alternatives, some hundreds of KiB compiled.
final class GlobCache: Sendable {
    /// The process's cache.
    static let shared = GlobCache()

    /// The most patterns kept: more than a manifest has.
    static let limit = 256

    private let globs = Mutex<[String: Glob]>([:])

    /// The compiled `pattern`, or the reason it does not compile.
    func glob(_ pattern: String) throws(DaemonKitError) -> Glob {
        if let glob = globs.withLock({ $0[pattern] }) { return glob }
        let glob = try Glob(pattern)
        globs.withLock { globs in
            if globs.count >= Self.limit { globs.removeAll(keepingCapacity: true) }
            globs[pattern] = glob
        }
        return glob
    }

    /// How many patterns are kept now.
    var count: Int { globs.withLock { $0.count } }
}
