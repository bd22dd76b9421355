import DaemonKit
import Foundation
import OrchestrateTesting
import Testing

@Suite("Whole files")
struct FileBytesTests {
    @Test func aReplacedFileHasTheNewBytesItsModeAndNoTemporaryLeft() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.url("record")
            #expect(FileBytes.text(path) == nil)
            #expect(FileBytes.replace(path, with: Array("first\n".utf8)))
            #expect(FileBytes.replace(path, with: Array("second".utf8), mode: 0o640))
            #expect(FileBytes.text(path) == "second")
            var info = stat()
            #expect(stat(path, &info) == 0)
            // The mode asked for, less the umask, which never takes the owner's bits.
            #expect(info.st_mode & 0o700 == 0o600)
            #expect((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) == ["record"])
        }
    }

    @Test func aFileThatCannotBeWrittenIsFalseAndLeavesNothing() throws {
        try TemporaryDirectory.with { directory in
            #expect(!FileBytes.replace(directory.url("missing/record"), with: [1, 2, 3]))
            #expect((try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.isEmpty == true)
        }
    }

    @Test func invalidUTF8IsReplacedNotRefused() throws {
        try TemporaryDirectory.with { directory in
            let path = directory.url("bytes")
            #expect(FileBytes.replace(path, with: [0x61, 0xFF, 0x62]))
            #expect(FileBytes.text(path) == "a\u{FFFD}b")
        }
    }
}
