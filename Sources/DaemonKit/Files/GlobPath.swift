/// A slash-separated relative path split once into Unicode scalars and segment ranges, so that one path can be
/// matched against many globs and gitignore rules without splitting it again for each of them.
struct GlobPath: Sendable {
    /// Every scalar of the path, separators included.
    let scalars: [Unicode.Scalar]
    /// The range of each segment in `scalars`; an empty path has one empty segment.
    let segments: [Range<Int>]

    init(_ path: String) {
        let scalars = Array(path.unicodeScalars)
        var segments: [Range<Int>] = []
        var start = 0
        for index in scalars.indices where scalars[index] == "/" {
            segments.append(start..<index)
            start = index + 1
        }
        segments.append(start..<scalars.count)
        self.scalars = scalars
        self.segments = segments
    }

    /// Whether segment `index` holds exactly `name`, compared scalar by scalar as the file system does.
    func segment(_ index: Int, equals name: [Unicode.Scalar]) -> Bool {
        let range = segments[index]
        guard range.count == name.count else { return false }
        var position = range.lowerBound
        for scalar in name {
            if scalars[position] != scalar { return false }
            position += 1
        }
        return true
    }
}
