import DaemonKit
import Foundation
import Testing

/// Replays the glob fuzzer's seeds and failing inputs (`Fuzz/corpus/glob`): the first line is a pattern, the
/// others paths; a pattern compiles or is refused, and matching never crashes.
@Suite("Glob fuzz corpus replay")
struct GlobFuzzCorpusTests {
    @Test func globInputsCompileOrAreRefusedAndMatchWithoutCrashing() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus/glob").path
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(!files.isEmpty)
        var compiled = 0
        for file in files {
            let text = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            guard let pattern = lines.first, let glob = try? Glob(pattern) else { continue }
            compiled += 1
            for path in lines.dropFirst() { _ = glob.matches(path) }
        }
        #expect(compiled >= 1)
        // The seeds' expectations, so that the corpus stays meaningful.
        #expect(try Glob("**/*.{py,pyi}").matches("src/a/b.py"))
        #expect(try !Glob("**/*.{py,pyi}").matches("src/__pycache__/x.pyc"))
    }
}
