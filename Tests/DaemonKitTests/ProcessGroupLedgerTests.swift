import DaemonKit
import Foundation
import OrchestrateTesting
import Testing

@Suite("Process group ledger")
struct ProcessGroupLedgerTests {
    @Test func recordsGroupsAndForgetsThem() throws {
        try TemporaryDirectory.with { directory in
            let ledger = ProcessGroupLedger(path: directory.url("run/process-groups"))
            ledger.add(getpid())
            let text = try String(contentsOfFile: ledger.path, encoding: .utf8)
            #expect(text.hasPrefix("+\(getpid()) "))
            #expect(ProcessGroupLedger.recordedGroups(in: text).keys.sorted() == [getpid()])
            ledger.remove(getpid())
            #expect(
                ProcessGroupLedger.recordedGroups(in: try String(contentsOfFile: ledger.path, encoding: .utf8)).isEmpty
            )
        }
    }

    @Test func aChangeIsAppendedAndManyAreCompacted() throws {
        try TemporaryDirectory.with { directory in
            let ledger = ProcessGroupLedger(path: directory.url("run/process-groups"))
            ledger.add(getpid())
            var before = stat()
            stat(ledger.path, &before)
            // One change is one line appended to the same file.
            ledger.add(4_000_000)
            var after = stat()
            stat(ledger.path, &after)
            #expect(after.st_ino == before.st_ino)
            #expect(try String(contentsOfFile: ledger.path, encoding: .utf8).hasSuffix("\n+4000000 0\n"))
            ledger.remove(4_000_000)
            // Ten thousand commands come and go (PIDs that are not running: their start time is 0): the file is
            // compacted now and then, and keeps what is current.
            for pid in Int32(4_000_000)..<4_010_000 {
                ledger.add(pid)
                ledger.remove(pid)
            }
            let text = try String(contentsOfFile: ledger.path, encoding: .utf8)
            #expect(text.split(separator: "\n").count <= 64 + 4, "compacted: \(text.count) bytes")
            #expect(ProcessGroupLedger.recordedGroups(in: text).keys.sorted() == [getpid()])
            #expect(!FileManager.default.fileExists(atPath: ledger.path + ".tmp"))
        }
    }

    @Test func earlierLedgersAreReadToo() {
        let groups = ProcessGroupLedger.recordedGroups(in: "100 7\n+200 8\n-100\n1 0\ngarbage\n-x\n")
        #expect(groups == [200: 8])
    }

    @Test func cleanUpKillsOnlyWhatMatchesARecordedSession() throws {
        try TemporaryDirectory.with { directory in
            // A stale record: this test process is no session leader of its own group, and PID 1 is skipped.
            // Stale records: a group no process belongs to, PID 1 (always skipped), and a malformed line.
            try directory.write("run/process-groups", "4194000 0\n1 0\ngarbage\n")
            let ledger = ProcessGroupLedger(path: directory.url("run/process-groups"))
            #expect(ledger.cleanUpPrevious().isEmpty)
            #expect(!FileManager.default.fileExists(atPath: ledger.path))
            #expect(ledger.cleanUpPrevious().isEmpty, "a missing ledger is nothing to clean")
        }
    }
}
