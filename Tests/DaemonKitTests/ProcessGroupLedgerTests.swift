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
            #expect(text.hasPrefix("\(getpid()) "))
            ledger.remove(getpid())
            #expect(try String(contentsOfFile: ledger.path, encoding: .utf8).isEmpty)
        }
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
