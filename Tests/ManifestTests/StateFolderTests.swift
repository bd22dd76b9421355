import DaemonKit
import Foundation
import OrchestrateTesting
import Orchestrator
import Testing

@testable import Manifest

/// A manifest's paths cannot reach into another manifest's state folder (issue 7's security list), with real
/// folders: `b` owns `b/.orchestrate` as its supervisor records it.
@Suite("Another manifest's state folder")
struct StateFolderOwnerTests {
    let root: TemporaryDirectory

    init() throws {
        root = try TemporaryDirectory(prefix: "state-owner")
        _ = try root.write("b/daemons.yaml", "daemons: {}\n")
        try FileManager.default.createDirectory(atPath: root.url("b/.orchestrate"), withIntermediateDirectories: true)
        StateFolder(root.url("b/.orchestrate")).recordOwner(manifest: root.url("b/daemons.yaml"))
    }

    /// The errors of `a/daemons.yaml` holding `yaml`, loaded from the disk.
    func errors(_ yaml: String, at relative: String = "a/daemons.yaml") throws -> [String] {
        let file = try root.write(relative, yaml)
        do {
            _ = try ManifestLoader(file: file, kinds: .builtIn, environment: [:]).load()
            return []
        } catch {
            return error.errors.map { "\($0.path): \($0.message)" }
        }
    }

    @Test func aStateDirOrSocketThatClimbsIntoItIsAnError() throws {
        let found = try errors(
            """
            state_dir: ../b/.orchestrate/mine
            daemons:
              api: {kind: rpc, listen: "unix:../b/.orchestrate/api.sock"}
            """
        )
        let folder = StateFolder.resolvingSymbolicLinks(root.url("b/.orchestrate"))
        #expect(found.count == 2, "\(found)")
        #expect(found.first?.hasPrefix("state_dir: ../b/.orchestrate/mine is in \(folder), the state folder") == true)
        #expect(found.last?.hasPrefix("daemons.api.listen: unix:../b/.orchestrate/api.sock is in \(folder)") == true)
    }

    @Test func anAbsolutePathOrASymbolicLinkIsResolvedFirst() throws {
        try FileManager.default.createDirectory(atPath: root.url("a"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root.url("a/link"), withDestinationPath: "../b")
        #expect(try errors("state_dir: link/.orchestrate\ndaemons: {}\n").count == 1)
        #expect(try errors("state_dir: \(root.url("b/.orchestrate"))\ndaemons: {}\n").count == 1)
    }

    @Test func itsOwnFolderACopiedProjectAndAStaleRecordAreFine() throws {
        // b's own manifest, naming its folder explicitly.
        #expect(try errors("state_dir: .orchestrate\ndaemons: {}\n", at: "b/daemons.yaml").isEmpty)
        // A copy of b with its state folder: the record names the original, whose folder does not hold the copy.
        try FileManager.default.copyItem(atPath: root.url("b"), toPath: root.url("c"))
        #expect(try errors("state_dir: .orchestrate\ndaemons: {}\n", at: "c/daemons.yaml").isEmpty)
        // A record naming a manifest that is gone is stale.
        try FileManager.default.removeItem(atPath: root.url("b/daemons.yaml"))
        #expect(try errors("state_dir: ../b/.orchestrate\ndaemons: {}\n").isEmpty)
    }
}

@Suite("State folder paths")
struct StateFolderPathTests {
    @Test func everyFileHasItsPlace() {
        let folder = StateFolder("/p/.orchestrate")
        #expect(folder.lockFile == "/p/.orchestrate/orchestrate.pid")
        #expect(folder.socket() == "/p/.orchestrate/orchestrate.sock")
        #expect(folder.log(of: "web") == "/p/.orchestrate/logs/web.log")
        #expect(folder.supervisorLog == "/p/.orchestrate/logs/orchestrate.log")
        #expect(folder.changedFile(of: "atlas") == "/p/.orchestrate/run/atlas.changed")
        #expect(folder.processGroupLedger == "/p/.orchestrate/run/process-groups")
    }

    @Test func longStateFoldersFallBackToAShortSocketPath() {
        let deep = StateFolder("/tmp/" + String(repeating: "a", count: 120))
        let path = deep.socket(environment: ["XDG_RUNTIME_DIR": "/run/user/0"])
        #expect(path.hasPrefix("/run/user/0/orchestrate-"))
        #expect(path.utf8.count <= IPCClient.maximumSocketPathLength)
        #expect(path == deep.socket(environment: ["XDG_RUNTIME_DIR": "/run/user/0"]))
    }
}
