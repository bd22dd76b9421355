import DaemonKit
import Foundation
import OrchestrateTesting
import Testing

@Suite("The chain of links to a file")
struct LinkChainTests {
    @Test func everyLinkOnTheWayIsInTheChainAndTheFileEndsIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let root = directory.path
        try FileManager.default.createDirectory(atPath: root + "/m/..v1", withIntermediateDirectories: true)
        try directory.write("m/..v1/daemons.yaml", "daemons: {}\n")
        try FileManager.default.createSymbolicLink(atPath: root + "/m/..data", withDestinationPath: "..v1")
        try FileManager.default.createSymbolicLink(
            atPath: root + "/m/daemons.yaml",
            withDestinationPath: "..data/daemons.yaml"
        )
        try FileManager.default.createSymbolicLink(
            atPath: root + "/top.yaml",
            withDestinationPath: root + "/m/daemons.yaml"
        )

        #expect(
            PathText.linkChain(of: root + "/top.yaml") == [
                root + "/top.yaml", root + "/m/daemons.yaml", root + "/m/..data", root + "/m/..v1/daemons.yaml",
            ]
        )
        #expect(PathText.linkChain(of: root + "/m/..v1/daemons.yaml") == [root + "/m/..v1/daemons.yaml"])
        #expect(PathText.linkChain(of: root + "/missing/x.yaml") == [root + "/missing/x.yaml"])

        // `..` after a link goes up from where the link led, as the kernel resolves it.
        try FileManager.default.createSymbolicLink(
            atPath: root + "/up.yaml",
            withDestinationPath: "m/..data/../..v1/daemons.yaml"
        )
        #expect(PathText.linkChain(of: root + "/up.yaml").last == root + "/m/..v1/daemons.yaml")
    }

    @Test func aLoopEndsTheWalk() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try FileManager.default.createSymbolicLink(atPath: directory.url("a"), withDestinationPath: "b")
        try FileManager.default.createSymbolicLink(atPath: directory.url("b"), withDestinationPath: "a")
        let chain = PathText.linkChain(of: directory.url("a"))
        #expect(chain.prefix(2) == [directory.url("a"), directory.url("b")])
    }
}
