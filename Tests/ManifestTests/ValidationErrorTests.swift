import Testing

@testable import Manifest

@Suite("Validation errors")
struct ValidationErrorTests {
    /// The only error of `yaml`, or a recorded failure.
    private func single(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> ManifestError? {
        let found = errors(yaml, sourceLocation: sourceLocation)
        #expect(found.count == 1, "\(found)", sourceLocation: sourceLocation)
        return found.first
    }

    /// A mapping of `ShapeValidator.splitThreshold` entries or more is checked in two halves at once: the result and
    /// the errors are those of one walk, in the order of the file.
    @Test func aLargeManifestIsCheckedInHalvesWithTheSameResult() throws {
        let count = ShapeValidator.splitThreshold + 44
        func manifest(mistakes: Set<Int>) -> String {
            "daemons:\n"
                + (0..<count).map { index in
                    let interval = mistakes.contains(index) ? "intervall: 5s" : "interval: \(index + 1)s"
                    return "  d\(index):\n    kind: periodic\n    \(interval)\n    command: [true]\n"
                }.joined()
        }
        let loaded = try load(manifest(mistakes: []))
        #expect(loaded.manifest.daemons.map(\.name) == (0..<count).map { "d\($0)" })
        let pairs = try #require(loaded.resolved["daemons"]?.pairs)
        #expect(pairs.map(\.key.text) == (0..<count).map { "d\($0)" })
        #expect(pairs.allSatisfy { $0.value["overlap"]?.scalarText == "skip" })  // defaults filled in both halves
        #expect(pairs.last?.value["interval"]?.scalarText == "\(count)s")

        let mistakes = [3, count / 2 + 1, count - 1]
        let found = errors(manifest(mistakes: Set(mistakes)))
        #expect(found.map(\.path) == mistakes.map { "daemons.d\($0)" })
        #expect(found.allSatisfy { $0.suggestion == "did you mean 'interval'?" })
    }

    @Test func unknownKeysSuggestTheNearestField() throws {
        let error = try #require(single(oneDaemon("sync", "kind: periodic\nintervall: 5s\ninterval: 5s\ncommand: x")))
        #expect(error.code == .unknownKey)
        #expect(error.origin?.position?.line == 4)
        #expect(error.origin?.position?.column == 5)
        #expect(error.path == "daemons.sync")
        #expect(error.suggestion == "did you mean 'interval'?")
        #expect(
            error.description
                == "daemons.yaml:4:5: daemons.sync: unknown key 'intervall' in a periodic daemon; did you mean 'interval'?"
        )
    }

    @Test func aKeyOfAnotherKindSaysWhichKindHasIt() throws {
        let error = try #require(single(oneDaemon("sync", "kind: periodic\ninterval: 5s\ncommand: x\nlisten: x:1")))
        #expect(error.suggestion == "'listen' belongs to rpc daemons")
    }

    @Test func topLevelTyposAndExtensions() throws {
        let error = try #require(single("daemon: {}\ndaemons: {}\nx-ok: 1\n"))
        #expect(error.suggestion == "did you mean 'daemons'?")
        #expect(error.origin?.position?.line == 1)
    }

    @Test func missingRequiredKeys() throws {
        let kind = try #require(single(oneDaemon("a", "command: x")))
        #expect(kind.code == .missingKey)
        #expect(kind.message.contains("missing key 'kind'"))
        let command = try #require(single(oneDaemon("a", "kind: watcher")))
        #expect(command.message == "missing key 'command' (a watcher daemon needs it)")
        let daemons = try #require(single("version: 1\n"))
        #expect(daemons.message.contains("'daemons'"))
        let listen = try #require(single(oneDaemon("a", "kind: rpc")))
        #expect(listen.message.contains("'listen'"))
    }

    @Test(arguments: [
        ("interval: 5", "expected a duration like 250ms, 30s, 5m or 1h30m, found number 5 (add a unit, such as 5s)"),
        ("interval: fast", "expected a duration like 250ms, 30s, 5m or 1h30m, found 'fast'"),
        ("interval: 0s", "expected a duration of at least 1ms, found 0s"),
        ("interval: 5s\njitter: [1s]", "expected a duration like 250ms, 30s, 5m or 1h30m, found a list"),
        ("interval: 5s\nrun_on_start: yes", "expected true or false, found 'yes'"),
        ("interval: 5s\nrun_on_start: 1", "expected true or false, found number 1"),
        ("interval: 5s\nretry: {attempts: 1000}", "expected an integer from 0 to 100, found 1000"),
        ("interval: 5s\nretry: {attempts: many}", "expected an integer from 0 to 100, found 'many'"),
        ("interval: 5s\nlog: {max_size: 10 parsecs}", "expected a size like 512KiB, 10MiB or 1GB, found '10 parsecs'"),
        ("interval: 5s\nlog: {max_size: 10B}", "expected a size of at least 1KiB, found 10B"),
        ("interval: 5s\nstop_timeout: 2h", "expected a duration of at most 1h, found 2h"),
        ("interval: 5s\nrestart: always", "expected a mapping (restart policy), found 'always'"),
        ("interval: 5s\nenv: [A=1]", "expected a mapping, found a list"),
        ("cron: \"61 * * * *\"", "invalid cron expression '61 * * * *': minute 61 is out of range 0-59"),
        (
            "cron: \"* * *\"",
            "invalid cron expression '* * *': expected 5 fields (minute hour day-of-month month day-of-week), found 3"
        ),
    ])
    func typeAndBoundErrors(body: String, message: String) throws {
        let error = try #require(single(oneDaemon("a", "kind: periodic\ncommand: x\n" + body)))
        #expect(error.code == .invalidValue)
        #expect(error.message == message)
        #expect(error.origin?.position != nil)
    }

    @Test func enumValuesSuggest() throws {
        let overlap = try #require(single(oneDaemon("a", "kind: periodic\ninterval: 1s\ncommand: x\noverlap: skp")))
        #expect(overlap.message == "expected one of 'skip', 'queue', 'replace', found 'skp'")
        #expect(overlap.suggestion == "did you mean 'skip'?")
        #expect(overlap.path == "daemons.a.overlap")
        let kind = try #require(single(oneDaemon("a", "kind: watchr\ncommand: x")))
        #expect(kind.suggestion == "did you mean 'watcher'?")
        let signal = try #require(single(oneDaemon("a", "kind: watcher\ncommand: x\nstop_signal: SIGTREM")))
        #expect(signal.suggestion == "did you mean 'SIGTERM'?")
        let policy = try #require(single(oneDaemon("a", "kind: watcher\ncommand: x\nrestart: {policy: on_failure}")))
        #expect(policy.suggestion == "did you mean 'on-failure'?")
    }

    @Test func globsAddressesAndNames() throws {
        let glob = try #require(single(oneDaemon("w", "kind: watcher\ncommand: x\npatterns: [\"src/[a-\"]")))
        #expect(glob.path == "daemons.w.patterns[0]")
        #expect(glob.message.hasPrefix("invalid glob 'src/[a-': unclosed character class"))
        let port = try #require(single(oneDaemon("r", "kind: rpc\nlisten: 127.0.0.1:70000")))
        #expect(port.message == "port 70000 is out of range 0-65535")
        let address = try #require(single(oneDaemon("r", "kind: rpc\nlisten: somewhere")))
        #expect(address.message.hasPrefix("expected an address like 127.0.0.1:8420"))
        let name = try #require(single(oneDaemon("-bad", "kind: watcher\ncommand: x")))
        #expect(name.message.hasPrefix("invalid key: expected a name of letters"))
        let variable = try #require(single(oneDaemon("a", "kind: watcher\ncommand: x\nenv: {1BAD: x}")))
        #expect(variable.message.contains("environment variable name"))
        let url = try #require(single(oneDaemon("p", "kind: process\ncommand: x\nready: {http: \"ftp://x\"}")))
        #expect(
            url.message
                == "expected an http:// URL (probes speak plain HTTP; check an HTTPS server with tcp: HOST:PORT), found string 'ftp://x'"
        )
        let regex = try #require(single(oneDaemon("p", "kind: process\ncommand: x\nready: {log_line: \"(unclosed\"}")))
        #expect(regex.message.hasPrefix("invalid regular expression '(unclosed'"))
    }

    @Test func exactlyOneOfAlternatives() throws {
        let neither = try #require(single(oneDaemon("a", "kind: periodic\ncommand: x")))
        #expect(neither.message == "a periodic daemon needs one of 'interval' or 'cron'")
        let both = try #require(single(oneDaemon("a", "kind: periodic\ncommand: x\ninterval: 1s\ncron: \"@daily\"")))
        #expect(both.message == "'interval' and 'cron' cannot be used together; keep one")
        let probes = try #require(
            single(oneDaemon("p", "kind: process\ncommand: x\nready: {tcp: \"127.0.0.1:1\", exec: x}"))
        )
        #expect(probes.message == "'tcp' and 'exec' cannot be used together; keep one")
        let noProbe = try #require(single(oneDaemon("p", "kind: process\ncommand: x\nready: {period: 1s}")))
        #expect(noProbe.message == "readiness probe needs one of 'http', 'tcp', 'exec' or 'log_line'")
    }

    @Test func commandsMustNotBeEmpty() throws {
        #expect(
            single(oneDaemon("a", "kind: watcher\ncommand: []"))?.message
                == "expected at least 1 item(s), found an empty list"
        )
        #expect(
            single(oneDaemon("a", "kind: watcher\ncommand: \"\""))?.message
                == "expected a non-empty string, found string ''"
        )
        #expect(
            single(oneDaemon("a", "kind: watcher\ncommand: {run: x}"))?.message.hasPrefix(
                "expected a non-empty string or a list"
            ) == true
        )
    }

    @Test func dependencies() throws {
        let missing = try #require(
            single(
                oneDaemon("a", "kind: watcher\ncommand: x\ndepends_on: [dbb]") + "  db: {kind: process, command: x}\n"
            )
        )
        #expect(missing.code == .reference)
        #expect(missing.message == "depends on 'dbb', which is not a daemon of this manifest")
        #expect(missing.suggestion == "did you mean 'db'?")
        let itself = try #require(single(oneDaemon("a", "kind: watcher\ncommand: x\ndepends_on: [a]")))
        #expect(itself.message == "a daemon cannot depend on itself")
        let disabled = try #require(
            single(
                oneDaemon("a", "kind: watcher\ncommand: x\ndepends_on: [db]")
                    + "  db: {kind: process, command: x, enabled: false}\n"
            )
        )
        #expect(disabled.message == "depends on 'db', which is disabled")
        let completed = try #require(
            single(
                oneDaemon("a", "kind: watcher\ncommand: x\ndepends_on: {db: completed}")
                    + "  db: {kind: process, command: x, restart: {policy: always}}\n"
            )
        )
        #expect(completed.message.contains("'completed' needs 'db' to be a process that can finish"))
        let condition = try #require(
            single(
                oneDaemon("a", "kind: watcher\ncommand: x\ndepends_on: {db: healthy}")
                    + "  db: {kind: process, command: x}\n"
            )
        )
        #expect(
            condition.message
                == "expected one of 'started', 'ready', 'completed', 'completed_successfully', found 'healthy'"
        )
    }

    @Test func dependencyCyclesAreNamed() throws {
        let yaml = """
            daemons:
              a: {kind: process, command: x, depends_on: [b]}
              b: {kind: process, command: x, depends_on: [c]}
              c: {kind: process, command: x, depends_on: [a]}
              d: {kind: process, command: x, depends_on: [a]}
            """
        let error = try #require(single(yaml))
        #expect(error.code == .cycle)
        #expect(error.message == "dependency cycle: a → b → c → a")
        #expect(error.origin?.position?.line == 2)
    }

    @Test func anRPCSocketCannotBeTheSupervisorsControlSocket() throws {
        let error = try #require(single(oneDaemon("core", "kind: rpc\nlisten: unix:.orchestrate/orchestrate.sock")))
        #expect(error.message == "unix:.orchestrate/orchestrate.sock is the supervisor's own control socket")
        #expect(error.path == "daemons.core.listen")
        #expect(error.suggestion == "choose another path, such as unix:.orchestrate/core.sock")
        // The same socket reached another way, and with another state_dir.
        #expect(single(oneDaemon("core", "kind: rpc\nlisten: unix:/project/./.orchestrate/orchestrate.sock")) != nil)
        #expect(single("state_dir: run\n" + oneDaemon("core", "kind: rpc\nlisten: unix:run/orchestrate.sock")) != nil)
        _ = try load(oneDaemon("core", "kind: rpc\nlisten: unix:.orchestrate/core.sock"))
        _ = try load("state_dir: run\n" + oneDaemon("core", "kind: rpc\nlisten: unix:.orchestrate/orchestrate.sock"))
    }

    @Test func rpcOnAPublicAddressNeedsAKey() throws {
        let error = try #require(single(oneDaemon("core", "kind: rpc\nlisten: 0.0.0.0:8420")))
        #expect(error.message == "listening on 0.0.0.0:8420, which is not loopback, needs auth.api_key_env")
        #expect(error.suggestion?.contains("insecure: true") == true)
        _ = try load(oneDaemon("core", "kind: rpc\nlisten: 0.0.0.0:8420\nauth: {insecure: true}"))
        _ = try load(oneDaemon("core", "kind: rpc\nlisten: 0.0.0.0:8420\nauth: {api_key_env: KEY}"))
        _ = try load(oneDaemon("core", "kind: rpc\nlisten: localhost:8420"))
    }

    @Test func crossFieldChecks() throws {
        let wait = try #require(single(oneDaemon("w", "kind: watcher\ncommand: x\ndebounce: 2s\nmax_wait: 1s")))
        #expect(wait.message == "max_wait (1s) must be at least the debounce (2s)")
        let backoff = try #require(
            single(oneDaemon("w", "kind: watcher\ncommand: x\nrestart: {backoff: {initial: 5m, max: 1m}}"))
        )
        #expect(backoff.path == "daemons.w.restart.backoff.max")
        let ports = try #require(
            single("control: {http: \"127.0.0.1:9000\"}\ndaemons:\n  r: {kind: rpc, listen: \"127.0.0.1:9000\"}\n")
        )
        #expect(ports.message == "port 9000 is already used by control.http")
    }

    /// `notify`: known events, an http(s) webhook, a command that is not empty, and at least one of the two; a
    /// daemon's notify is merged over the one under `defaults`.
    @Test func notifyHooks() throws {
        let body = "kind: periodic\ninterval: 1m\ncommand: x\nnotify: "
        let event = try #require(single(oneDaemon("p", body + "{on: [failed, crashed], command: x}")))
        #expect(event.path == "daemons.p.notify.on[1]")
        #expect(event.message.hasPrefix("expected one of 'run_failed', 'exited', 'failed', 'recovered', 'restarted'"))
        #expect(event.origin?.position?.line == 6)
        let url = try #require(single(oneDaemon("p", body + "{webhook: \"ftp://example.com/x\"}")))
        #expect(url.message == "expected an http:// or https:// URL, found string 'ftp://example.com/x'")
        let empty = try #require(single(oneDaemon("p", body + "{command: []}")))
        #expect(empty.path == "daemons.p.notify.command")
        let neither = try #require(single(oneDaemon("p", body + "{on: [failed]}")))
        #expect(neither.message == "notify needs a command, a webhook, or both")
        #expect(neither.origin?.position.map { [$0.line, $0.column] } == [6, 13])

        let merged = try load(
            "defaults: {notify: {webhook: \"https://ntfy.sh/alerts\"}}\n" + oneDaemon("p", body + "{command: [alert]}")
        )
        let notify = try #require(merged.manifest[daemon: "p"]?.notify)
        #expect(notify.webhook == "https://ntfy.sh/alerts" && notify.command != nil)
        #expect(notify.events == [.failed, .recovered] && notify.timeout == .seconds(30))
        let plain = try load(oneDaemon("p", "kind: periodic\ninterval: 1m\ncommand: x"))
        #expect(plain.manifest[daemon: "p"]?.notify == nil)
    }

    @Test func defaultsAreValidatedOnceAndOnlyTakeCommonFields() throws {
        let found = errors(
            "defaults: {stop_timeout: soon, interval: 1s}\ndaemons:\n  a: {kind: watcher, command: x}\n  b: {kind: watcher, command: x}\n"
        )
        #expect(found.count == 2)
        #expect(found.map(\.path) == ["defaults.stop_timeout", "defaults"])
        #expect(found[1].message == "unknown key 'interval' in defaults")
    }

    @Test func everyErrorAtOnceInFileOrder() {
        let found = errors(
            """
            reload: sometimes
            daemons:
              a: {kind: periodic, interval: soon, command: x}
              b: {kind: watcher, command: x, debounce: later, on_busy: wait}
              c: {kind: nope}
            """
        )
        #expect(found.count == 5)
        #expect(found.compactMap(\.origin?.position?.line) == [1, 3, 4, 4, 5])
    }

    @Test func theTopLevelMustBeAMappingAndNotEmpty() {
        #expect(errors("- a\n- b\n").first?.message == "expected a mapping at the top of the manifest, found a list")
        #expect(errors("").first?.message.contains("empty") == true)
        #expect(errors("# only a comment\n").first?.message.contains("empty") == true)
        #expect(errors("version: 2\ndaemons: {}\n").first?.message == "expected one of '1', found number 2")
    }
}

extension ValidationErrorTests {
    @Test func aMisspeltAlternativeIsReportedOnce() throws {
        let found = errors(oneDaemon("a", "kind: periodic\ncommand: x\nintervall: 5s"))
        #expect(found.map(\.message) == ["unknown key 'intervall' in a periodic daemon"])
        let unrelated = errors(oneDaemon("a", "kind: periodic\ncommand: x\ncolour: red"))
        #expect(unrelated.count == 2)
    }
}
