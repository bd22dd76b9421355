#if canImport(Glibc)
import Glibc
import CDispatch  // with NIO in the graph, clang assigns `struct stat` to the CDispatch module
#elseif canImport(Musl)
import Musl
#endif

/// Thin wrappers over the POSIX calls the scanner needs: listing a folder with the entry types `readdir`
/// already reports (which spares an `lstat` per entry), and reading small files.
enum DirectoryReader {
    /// What an entry is, as far as the scanner cares.
    enum Kind {
        case directory
        case regularFile
        case symbolicLink
        case other
    }

    /// A failed system call, carrying its `errno`.
    struct Failure: Error {
        let errno: Int32
    }

    /// One entry of a folder.
    struct Entry {
        let name: String
        let kind: Kind
    }

    /// Lists `path` without `.` and `..`. The folder is closed before
    /// returning, so recursion holds no descriptors however deep the tree is.
    static func entries(of path: String) throws(Failure) -> [Entry] {
        guard let directory = opendir(path) else { throw Failure(errno: errno) }
        defer { closedir(directory) }
        var entries: [Entry] = []
        while let pointer = readdir(directory) {
            let name = withUnsafePointer(to: &pointer.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            let kind: Kind
            switch Int32(pointer.pointee.d_type) {
            case Int32(DT_DIR): kind = .directory
            case Int32(DT_REG): kind = .regularFile
            case Int32(DT_LNK): kind = .symbolicLink
            case Int32(DT_UNKNOWN): kind = linkKind(of: join(path, name)) ?? .other
            default: kind = .other
            }
            entries.append(Entry(name: name, kind: kind))
        }
        return entries
    }

    /// The kind of `path` itself, not following a final symbolic link; nil when it cannot be examined.
    static func linkKind(of path: String) -> Kind? {
        var info = Glibc.stat()
        guard lstat(path, &info) == 0 else { return nil }
        return kind(info.st_mode)
    }

    /// The kind of what `path` leads to, following symbolic links.
    static func targetKind(of path: String) throws(Failure) -> Kind {
        var info = Glibc.stat()
        guard stat(path, &info) == 0 else { throw Failure(errno: errno) }
        return kind(info.st_mode)
    }

    private static func kind(_ mode: mode_t) -> Kind {
        switch mode & S_IFMT {
        case S_IFDIR: .directory
        case S_IFREG: .regularFile
        case S_IFLNK: .symbolicLink
        default: .other
        }
    }

    /// The contents of a small text file, or nil when it cannot be read (most often: it does not exist).
    static func contents(of path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Joins a folder and a name without doubling the slash of the root folder.
    static func join(_ folder: String, _ name: String) -> String {
        folder.hasSuffix("/") ? folder + name : folder + "/" + name
    }
}
