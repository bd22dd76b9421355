import Orchestrator
import Testing

/// The pieces of `export kubernetes` that need no manifest: object names and schedules.
struct KubernetesNamesTests {
    @Test(
        arguments: [
            ("Issues_Sync.v2", "issues-sync-v2"),
            ("core", "core"),
            ("--Weird__Name--", "weird-name"),
            ("a..b", "a-b"),
            ("Ünïcode-dæmon", "n-code-d-mon"),
            ("___", "x"),
            ("9lives", "9lives"),
        ]
    )
    func labelIsDNS1123(_ input: String, _ expected: String) {
        #expect(KubernetesNames.label(input) == expected)
    }

    @Test func labelIsCutToTheLengthWithoutATrailingDash() {
        let long = String(repeating: "a", count: 51) + "_b" + String(repeating: "c", count: 20)
        #expect(KubernetesNames.label(long, maximumLength: 52) == String(repeating: "a", count: 51))
        #expect(KubernetesNames.label(String(repeating: "x", count: 100)).count == 63)
    }

    @Test func uniqueNamesGetASuffixWithinTheLength() {
        var names = KubernetesNames()
        #expect(names.unique("web") == "web")
        #expect(names.unique("Web") == "web-2")
        #expect(names.unique("WEB") == "web-3")
        #expect(names.unique("web-2") == "web-2-2")
        let long = String(repeating: "z", count: 52)
        #expect(names.unique(long, maximumLength: 52) == long)
        #expect(names.unique(long, maximumLength: 52) == String(repeating: "z", count: 50) + "-2")
    }
}

struct KubernetesScheduleTests {
    @Test(
        arguments: [
            (Duration.seconds(60), "* * * * *"),
            (.seconds(120), "*/2 * * * *"),
            (.seconds(300), "*/5 * * * *"),
            (.seconds(1_800), "*/30 * * * *"),
            (.seconds(3_600), "0 * * * *"),
            (.seconds(7_200), "0 */2 * * *"),
            (.seconds(6 * 3_600), "0 */6 * * *"),
            (.seconds(12 * 3_600), "0 */12 * * *"),
            (.seconds(86_400), "0 0 * * *"),
        ]
    )
    func expressibleIntervals(_ interval: Duration, _ cron: String) {
        #expect(KubernetesSchedule.cron(forInterval: interval) == cron)
    }

    @Test(
        arguments: [
            Duration.seconds(30), .seconds(45), .seconds(90), .seconds(7 * 60), .seconds(90 * 60), .seconds(5 * 3_600),
            .seconds(2 * 86_400), .milliseconds(60_500), .zero,
        ]
    )
    func inexpressibleIntervals(_ interval: Duration) {
        #expect(KubernetesSchedule.cron(forInterval: interval) == nil)
    }

    @Test func localTimeZone() {
        #expect(
            KubernetesSchedule.localTimeZone(environment: "Europe/Paris", timezoneFile: "Etc/UTC\n") == "Europe/Paris"
        )
        #expect(
            KubernetesSchedule.localTimeZone(environment: nil, timezoneFile: "America/New_York\n") == "America/New_York"
        )
        #expect(KubernetesSchedule.localTimeZone(environment: ":/etc/localtime", timezoneFile: nil) == nil)
        #expect(KubernetesSchedule.localTimeZone(environment: "CET-1CEST", timezoneFile: "UTC") == "UTC")
        #expect(KubernetesSchedule.localTimeZone(environment: "", timezoneFile: "") == nil)
    }
}
