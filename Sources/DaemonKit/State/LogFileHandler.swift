import Logging

/// A swift-log handler that writes a program's own messages into a ``RotatingLogFile`` (the supervisor's log),
/// one line each: level, message, then metadata as `key=value`.
public struct LogFileHandler: LogHandler {
    /// The file the lines go to.
    public let file: RotatingLogFile
    /// The lowest level written.
    public var logLevel: Logger.Level
    /// Metadata added to every message.
    public var metadata: Logger.Metadata = [:]

    /// Makes a handler writing to `file`.
    public init(file: RotatingLogFile, logLevel: Logger.Level = .info) {
        self.file = file
        self.logLevel = logLevel
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "\(event.level) \(event.message)"
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() { line += " \(key)=\(merged[key]!)" }
        file.writeLine(line)
    }
}
