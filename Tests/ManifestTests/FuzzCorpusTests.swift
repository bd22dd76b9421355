import Foundation
import OrchestrateTesting
import Orchestrator
import Testing

@testable import Manifest

/// Replays the fuzzers' seeds and every input a fuzzer found failing (`Fuzz/corpus/`, see `make fuzz`): each loads
/// to a manifest or to errors, never to a crash.
@Suite("Fuzz corpus replay", .ownThread)
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus").path

    static func inputs(_ name: String) throws -> [(String, [UInt8])] {
        let folder = corpus + "/" + name
        return try FileManager.default.contentsOfDirectory(atPath: folder).sorted().map { file in
            (file, Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + file))))
        }
    }

    static let loader = ManifestLoader(
        file: "/fuzz/daemons.yaml",
        fileLabel: "daemons.yaml",
        kinds: .builtIn,
        environment: ["HOME": "/root", "EMPTY": "", "PORT": "8080"]
    )

    @Test func manifestInputsLoadOrFailCleanly() throws {
        let inputs = try Self.inputs("manifest")
        #expect(inputs.count >= 4)
        var loaded = 0
        for (_, bytes) in inputs {
            do {
                _ = try Self.loader.load(bytes: bytes)
                loaded += 1
            } catch {
                #expect(!error.errors.isEmpty)
            }
        }
        #expect(loaded >= 1, "the seeds include valid manifests")
    }

    @Test func interpolationInputsLoadOrFailCleanly() throws {
        let inputs = try Self.inputs("interpolation")
        #expect(!inputs.isEmpty)
        for (_, bytes) in inputs {
            // As the fuzzer does: the text as a command's literal block scalar.
            let text = String(decoding: bytes, as: UTF8.self)
            let body = text.split(separator: "\n", omittingEmptySubsequences: false).map { "      " + $0 }
                .joined(separator: "\n")
            let yaml = "daemons:\n  a:\n    kind: periodic\n    interval: 1h\n    command: |-\n" + body + "\n"
            do {
                _ = try Self.loader.load(bytes: Array(yaml.utf8))
            } catch {
                #expect(!error.errors.isEmpty)
            }
        }
    }
}

@Suite("Glob cache", .ownThread)
struct GlobCacheTests {
    @Test func theCacheStaysBoundedWhateverPatternsItSees() throws {
        let cache = GlobCache()
        for index in 0..<(GlobCache.limit + 100) {
            _ = try cache.glob("src/**/file\(index).py")
        }
        #expect(cache.count <= GlobCache.limit)
        #expect(cache.count == 100)
        // A pattern seen again is the same compiled glob.
        #expect(try cache.glob("src/**/file1.py") == cache.glob("src/**/file1.py"))
    }
}
