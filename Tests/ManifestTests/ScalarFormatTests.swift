import DaemonKit
import Testing

@testable import Manifest

@Suite("Durations, sizes and addresses")
struct ScalarFormatTests {
    @Test(arguments: [
        ("250ms", Duration.milliseconds(250), "250ms"), ("30s", .seconds(30), "30s"), ("5m", .seconds(300), "5m"),
        ("1h", .seconds(3_600), "1h"), ("1h30m", .seconds(5_400), "1h30m"), ("90s", .seconds(90), "1m30s"),
        ("1.5s", .milliseconds(1_500), "1s500ms"), ("2d", .seconds(172_800), "48h"), ("0", .zero, "0s"),
        ("0s", .zero, "0s"), ("1m0s", .seconds(60), "1m"),
    ])
    func durations(text: String, duration: Duration, canonical: String) {
        #expect(DurationText.parse(text) == duration)
        #expect(DurationText.format(duration) == canonical)
    }

    @Test(arguments: ["", "5", "s", "5 s", "5x", "-5s", "1h30", "ms5", "1e3s", "5S"])
    func notDurations(text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test(arguments: [
        ("512KiB", 524_288, "512KiB"), ("10MiB", 10_485_760, "10MiB"), ("1GB", 1_000_000_000, "1GB"),
        ("100B", 100, "100B"), ("2048", 2_048, "2KiB"), ("1.5KiB", 1_536, "1536B"), ("10mb", 10_000_000, "10MB"),
        ("1k", 1_024, "1KiB"),
    ])
    func sizes(text: String, bytes: Int, canonical: String) {
        #expect(SizeText.parse(text) == bytes)
        #expect(SizeText.format(bytes) == canonical)
    }

    @Test(arguments: ["", "MiB", "10 parsecs", "-1KiB", "1XB"])
    func notSizes(text: String) {
        #expect(SizeText.parse(text) == nil)
    }

    @Test(arguments: [
        ("127.0.0.1:8420", ListenAddress.tcp(host: "127.0.0.1", port: 8_420), true),
        ("[::1]:8420", .tcp(host: "::1", port: 8_420), true), ("localhost:0", .tcp(host: "localhost", port: 0), true),
        (":80", .tcp(host: "0.0.0.0", port: 80), false), ("0.0.0.0:65535", .tcp(host: "0.0.0.0", port: 65_535), false),
        ("unix:/run/x.sock", .unix(path: "/run/x.sock"), true),
        ("example.com:443", .tcp(host: "example.com", port: 443), false),
    ])
    func listenAddresses(text: String, address: ListenAddress, loopback: Bool) {
        #expect(ListenAddress(parsing: text) == address)
        #expect(address.isLoopback == loopback)
        #expect(ListenAddress(parsing: address.description) == address)
    }

    @Test(arguments: [
        "8420", "127.0.0.1", "127.0.0.1:65536", "127.0.0.1:-1", "::1:80", "[::1]80", "unix:", "host:port",
    ])
    func notListenAddresses(text: String) {
        #expect(ListenAddress(parsing: text) == nil)
    }

    /// The names' bit sets of ASCII characters agree with the classes read by Unicode scalar.
    @Test(arguments: [ScalarFormat.daemonName, .environmentName, .methodName])
    func names(format: ScalarFormat) throws {
        guard case .name(let first, let rest, _) = format else { throw CancellationError() }
        let characters = (0..<128).map { String(UnicodeScalar(UInt8($0))) } + ["é", "名", "\u{1F600}"]
        let texts =
            ["", "a", "web-1", "_x", "9lives", "a.b:c", "-a", "a b", "dæmon", "ok_名"]
            + characters + characters.map { "a" + $0 } + characters.map { $0 + "a" }
        for text in texts {
            #expect(
                ScalarFormat.isName(text, first: first, rest: rest)
                    == ScalarFormat.isName(scalarsOf: text, first: first, rest: rest),
                "\(text.debugDescription)"
            )
        }
        #expect(ScalarFormat.isName("web-1", first: first, rest: rest) == (format != .environmentName))
        #expect(!ScalarFormat.isName("-web", first: first, rest: rest))
        #expect(!ScalarFormat.isName("dæmon", first: first, rest: rest))
    }

    @Test func signalsByName() {
        #expect(Signal(name: "TERM") == .terminate)
        #expect(Signal(name: "sigint") == .interrupt)
        #expect(Signal(name: "SIGHUP")?.name == "SIGHUP")
        #expect(Signal(name: "TREM") == nil)
    }

    @Test func suggestions() {
        #expect(Suggestion.closest(to: "intervall", among: ["interval", "jitter"]) == "interval")
        #expect(Suggestion.closest(to: "run-on-start", among: ["run_on_start"]) == "run_on_start")
        #expect(Suggestion.closest(to: "debonuce", among: ["debounce"]) == "debounce")
        #expect(Suggestion.closest(to: "zzz", among: ["interval", "cron"]) == nil)
        #expect(Suggestion.editDistance("kitten", "sitting") == 3)
    }
}
