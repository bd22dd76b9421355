import DaemonKit

/// One daemon under its kind's ``DaemonKind/check(_:)``: its fields, the manifest's folders, and the problems
/// found, each reported at the field it is about.
public struct DaemonCheck: Sendable {
    /// The daemon's name.
    public let name: String
    /// Its fields after `defaults` and built-in defaults; values the shape refused are still there as written.
    public let fields: ResolvedFields
    /// The manifest file, absolute.
    public let manifestFile: String
    /// The manifest's state folder.
    public let stateFolder: StateFolder
    /// The problems found so far.
    public private(set) var errors: [ManifestError] = []

    init(name: String, fields: ResolvedFields, manifestFile: String, stateFolder: StateFolder) {
        self.name = name
        self.fields = fields
        self.manifestFile = manifestFile
        self.stateFolder = stateFolder
    }

    /// The daemon's path in messages, `daemons.NAME`.
    public var path: String { "daemons.\(name)" }

    /// Reports a problem with `field` (a key of the daemon, or a dotted path such as `restart.backoff.max`), at
    /// the place its value was written: "`message`; `suggestion`".
    public mutating func fail(_ field: String, _ message: String, suggestion: String? = nil) {
        var node: YAMLNode? = fields.node
        for key in field.split(separator: ".") { node = node?[String(key)] }
        errors.append(
            ManifestError(
                code: .invalidValue,
                origin: node?.origin ?? fields.node.origin,
                path: path + "." + field,
                message: message,
                suggestion: suggestion
            )
        )
    }

    /// Reports `absolutePath`, set by `field` (shown as `subject`), when it lies in the state folder of another
    /// manifest, however it gets there (`..`, an absolute path, a symbolic link): a path the supervisor writes,
    /// such as a socket, must stay out of another supervisor's folder.
    public mutating func checkOutsideOtherStateFolders(_ absolutePath: String, field: String, subject: String) {
        guard let node = fields[field] else { return }
        if let error = ManifestChecks.otherStateFolder(
            absolutePath,
            node,
            path: path + "." + field,
            subject: subject,
            manifestFile: manifestFile
        ) {
            errors.append(error)
        }
    }
}
