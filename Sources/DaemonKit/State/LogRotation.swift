/// When a daemon's log file is rotated and how many old files are kept.
public struct LogRotation: Hashable, Sendable {
    /// The size in bytes at which the file is rotated.
    public var maxSize: Int
    /// How many rotated files are kept (`NAME.log.1` … `NAME.log.N`).
    public var keep: Int

    /// Makes a rotation setting; the defaults match the manifest's.
    public init(maxSize: Int = 10 << 20, keep: Int = 5) {
        self.maxSize = maxSize
        self.keep = keep
    }
}
