import Foundation
import OrchestrateTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension SupervisorBinaryTests {
    /// Hot reload of a manifest reached through symbolic links that a deploy re-points: a Kubernetes ConfigMap's
    /// mount, a release folder's link, a chain of links.
    @Suite("Hot reload through swapped links, end to end", .serialized)
    struct LinkedManifestEndToEndTests {
        typealias Supervisor = SupervisorEndToEndTests

        static func manifest(_ directory: TemporaryDirectory, seconds: Int, extra: String = "") -> String {
            """
            state_dir: \(directory.url("state"))
            daemons:
              web:
                kind: process
                command: [sleep, "\(seconds)"]
            \(extra)
            """
        }

        /// Runs `body` with a supervisor of the manifest at `file` (relative to the folder), stopped after it.
        static func withSupervisor(
            _ directory: TemporaryDirectory,
            file: String,
            _ body: () async throws -> Void
        ) async throws {
            let up = try await E2E.run(["-f", file, "up", "-d", "--wait"], in: directory.path)
            #expect(up.status == 0, "\(up.stderr)")
            var failure: (any Error)?
            do {
                try await body()
            } catch {
                failure = error
            }
            _ = try? await E2E.run(["-f", file, "down", "--timeout", "20s"], in: directory.path)
            if let pid = Supervisor.startedPID(up.stdout), Supervisor.isAlive(pid) { kill(pid, SIGKILL) }
            if let failure { throw failure }
        }

        /// The command line of `web`'s live process, once it is the one given.
        static func runs(_ directory: TemporaryDirectory, file: String, _ command: String) async -> Bool {
            guard let result = try? await E2E.run(["-f", file, "status", "--json"], in: directory.path),
                let document = try? E2E.jsonObject(result.stdout),
                let daemons = document["daemons"] as? [[String: Any]],
                let web = daemons.first(where: { $0["name"] as? String == "web" }),
                let pid = (web["pids"] as? [Int])?.first,
                let line = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)
            else { return false }
            return line.split(separator: "\0").joined(separator: " ") == command
        }

        /// Points the link `name` in `folder` at `target` the way Kubernetes and deploy tools do: a new link beside
        /// it, renamed over it.
        static func repoint(_ folder: String, _ name: String, to target: String) throws {
            let temporary = folder + "/." + name + ".tmp"
            try FileManager.default.createSymbolicLink(atPath: temporary, withDestinationPath: target)
            #expect(rename(temporary, folder + "/" + name) == 0)
        }

        @Test func aConfigMapUpdateIsApplied() async throws {
            let directory = try TemporaryDirectory(prefix: "e2e-links")
            defer { directory.remove() }
            let mount = directory.url("config")
            for (version, seconds) in [("..2026_12_07_v1", 301), ("..2026_12_07_v2", 302), ("..2026_12_07_v3", 303)] {
                try FileManager.default.createDirectory(
                    atPath: mount + "/" + version,
                    withIntermediateDirectories: true
                )
                try Self.manifest(directory, seconds: seconds)
                    .write(toFile: mount + "/" + version + "/daemons.yaml", atomically: false, encoding: .utf8)
            }
            try FileManager.default.createSymbolicLink(
                atPath: mount + "/..data",
                withDestinationPath: "..2026_12_07_v1"
            )
            try FileManager.default.createSymbolicLink(
                atPath: mount + "/daemons.yaml",
                withDestinationPath: "..data/daemons.yaml"
            )
            try await Self.withSupervisor(directory, file: "config/daemons.yaml") {
                #expect(await Self.runs(directory, file: "config/daemons.yaml", "sleep 301"))
                // The kubelet's update: the new data folder, `..data` re-pointed at it, the old folder removed.
                try Self.repoint(mount, "..data", to: "..2026_12_07_v2")
                try FileManager.default.removeItem(atPath: mount + "/..2026_12_07_v1")
                #expect(await waitUntil { await Self.runs(directory, file: "config/daemons.yaml", "sleep 302") })
                // And the next one, on the watch made again for the new folder.
                try Self.repoint(mount, "..data", to: "..2026_12_07_v3")
                try FileManager.default.removeItem(atPath: mount + "/..2026_12_07_v2")
                #expect(await waitUntil { await Self.runs(directory, file: "config/daemons.yaml", "sleep 303") })
            }
        }

        @Test func aSwappedReleaseFolderAndASaveInItAreApplied() async throws {
            let directory = try TemporaryDirectory(prefix: "e2e-links")
            defer { directory.remove() }
            for (release, seconds) in [("v1", 311), ("v2", 312)] {
                try FileManager.default.createDirectory(
                    atPath: directory.url("releases/" + release),
                    withIntermediateDirectories: true
                )
                try directory.write("releases/\(release)/daemons.yaml", Self.manifest(directory, seconds: seconds))
            }
            try FileManager.default.createSymbolicLink(
                atPath: directory.url("current"),
                withDestinationPath: "releases/v1"
            )
            try await Self.withSupervisor(directory, file: "current/daemons.yaml") {
                #expect(await Self.runs(directory, file: "current/daemons.yaml", "sleep 311"))
                try Self.repoint(directory.path, "current", to: "releases/v2")
                #expect(await waitUntil { await Self.runs(directory, file: "current/daemons.yaml", "sleep 312") })
                // A save in the release now current is applied; one in the old release is not watched.
                try directory.write("releases/v2/daemons.yaml", Self.manifest(directory, seconds: 313))
                #expect(await waitUntil { await Self.runs(directory, file: "current/daemons.yaml", "sleep 313") })
            }
        }

        @Test func aChainOfLinksTwoDeepIsFollowed() async throws {
            let directory = try TemporaryDirectory(prefix: "e2e-links")
            defer { directory.remove() }
            try directory.write("a.yaml", Self.manifest(directory, seconds: 321))
            try directory.write("b.yaml", Self.manifest(directory, seconds: 322))
            try FileManager.default.createDirectory(atPath: directory.url("etc"), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(
                atPath: directory.url("etc/live.yaml"),
                withDestinationPath: "../a.yaml"
            )
            try FileManager.default.createSymbolicLink(
                atPath: directory.url("daemons.yaml"),
                withDestinationPath: "etc/live.yaml"
            )
            try await Self.withSupervisor(directory, file: "daemons.yaml") {
                #expect(await Self.runs(directory, file: "daemons.yaml", "sleep 321"))
                // The second link of the chain re-pointed.
                try Self.repoint(directory.url("etc"), "live.yaml", to: "../b.yaml")
                #expect(await waitUntil { await Self.runs(directory, file: "daemons.yaml", "sleep 322") })
                // A save of the file at the end of the chain.
                try directory.write("b.yaml", Self.manifest(directory, seconds: 323))
                #expect(await waitUntil { await Self.runs(directory, file: "daemons.yaml", "sleep 323") })
            }
        }
    }
}
