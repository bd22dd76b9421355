import Foundation
import OrchestrateTesting
import Testing

extension Kubernetes {
    /// What each field of ``everyField`` became, exported with `--namespace tools --secret DB_PASSWORD --name
    /// Tools_App` and TZ=Europe/Paris.
    static func checkEveryField(_ objects: [[String: Any]]) throws {
        #expect(
            objects.map { "\($0["kind"]!)/\(name($0))" } == [
                "ConfigMap/tools-app-manifest", "CronJob/issues-sync-v2", "CronJob/nightly", "Deployment/api",
                "Deployment/checker", "Deployment/fast", "Deployment/files", "Deployment/local", "Deployment/logger",
                "Deployment/open", "Deployment/sock", "Deployment/web", "Service/api", "Service/open", "Service/web",
            ]
        )
        for object in objects {
            let objectName = name(object)
            #expect(objectName.wholeMatch(of: /[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?/) != nil, "\(objectName)")
            #expect(dig(object, "metadata", "namespace") as? String == "tools", "\(objectName)")
            let labels = dig(object, "metadata", "labels") as? [String: String]
            #expect(labels?["app.kubernetes.io/name"] == objectName)
            #expect(labels?["app.kubernetes.io/part-of"] == "tools-app")
            #expect(labels?["app.kubernetes.io/managed-by"] == "orchestrate")
            guard object["kind"] as? String != "ConfigMap", object["kind"] as? String != "Service" else { continue }
            let pod = try pod(object)
            let container = try container(object)
            #expect(container["name"] as? String == "orchestrate")
            #expect(container["image"] as? String == "img:1")
            #expect(container["workingDir"] as? String == "/app")
            #expect(
                (container["command"] as? [String])?.prefix(3) == [
                    "orchestrate", "-f", "/etc/orchestrate/daemons.yaml",
                ]
            )
            let mounts = container["volumeMounts"] as? [[String: Any]] ?? []
            #expect(mounts.map { $0["mountPath"] as? String } == ["/etc/orchestrate", "/var/lib/orchestrate"])
            #expect(mounts.allSatisfy { $0["subPath"] == nil })
            #expect(dig(pod, "volumes", 0, "configMap", "name") as? String == "tools-app-manifest")
            #expect(dig(pod, "volumes", 1, "emptyDir") is [String: Any])
            #expect(env(container)["LOG_LEVEL"] == "debug")
        }
        try checkPeriodics(objects)
        try checkServers(objects)
        try checkProcesses(objects)
        try checkManifest(try object("ConfigMap", "tools-app-manifest", in: objects))
    }

    private static func command(_ object: [String: Any]) throws -> [String] {
        Array((try container(object)["command"] as? [String] ?? []).dropFirst(3))
    }

    private static func checkPeriodics(_ objects: [[String: Any]]) throws {
        let nightly = try object("CronJob", "nightly", in: objects)
        #expect(dig(nightly, "spec", "schedule") as? String == "30 2 * * *")
        #expect(dig(nightly, "spec", "timeZone") as? String == "Europe/Paris")
        #expect(dig(nightly, "spec", "concurrencyPolicy") as? String == "Forbid")
        #expect(dig(nightly, "spec", "jobTemplate", "spec", "backoffLimit") as? Int == 2)
        let nightlyPod = try pod(nightly)
        #expect(nightlyPod["restartPolicy"] as? String == "Never")
        #expect(nightlyPod["activeDeadlineSeconds"] as? Int == 90 + 10 + 5)
        #expect(nightlyPod["terminationGracePeriodSeconds"] as? Int == 15)
        #expect(dig(nightlyPod, "initContainers", 0, "name") as? String == "wait-for-api")
        #expect(
            (dig(nightlyPod, "initContainers", 0, "command") as? [String])
                == ["sh", "-c", "until nc -z -w 2 api 9000; do echo waiting for api:9000; sleep 1; done"]
        )
        #expect(try command(nightly) == ["run", "nightly"])
        #expect(env(try container(nightly)) == ["LOG_LEVEL": "debug", "SYNC_TOKEN": "abc"])

        let sync = try object("CronJob", "issues-sync-v2", in: objects)
        #expect(dig(sync, "spec", "schedule") as? String == "*/5 * * * *")
        #expect(dig(sync, "spec", "timeZone") == nil)
        #expect(dig(sync, "spec", "concurrencyPolicy") as? String == "Replace")
        #expect(dig(sync, "spec", "jobTemplate", "spec", "backoffLimit") as? Int == 0)
        #expect(dig(sync, "metadata", "annotations", "orchestrate/daemon") as? String == "Issues_Sync.v2")
        #expect(
            dig(sync, "spec", "jobTemplate", "spec", "template", "metadata", "annotations", "orchestrate/daemon")
                as? String == "Issues_Sync.v2"
        )
        #expect(try pod(sync)["initContainers"] == nil)
        #expect(try pod(sync)["activeDeadlineSeconds"] == nil)
        #expect(try command(sync) == ["run", "Issues_Sync.v2"])

        let fast = try object("Deployment", "fast", in: objects)
        #expect(try command(fast) == ["up", "--only", "fast", "--no-deps"])
        #expect(dig(fast, "spec", "replicas") as? Int == 1)
        #expect(dig(fast, "spec", "strategy", "type") as? String == "Recreate")
        let selector = dig(fast, "spec", "selector", "matchLabels") as? [String: String] ?? [:]
        let podLabels = dig(fast, "spec", "template", "metadata", "labels") as? [String: String] ?? [:]
        #expect(!selector.isEmpty && selector.allSatisfy { podLabels[$0.key] == $0.value })
        #expect(try pod(fast)["restartPolicy"] == nil)
    }

    private static func checkServers(_ objects: [[String: Any]]) throws {
        let api = try object("Deployment", "api", in: objects)
        #expect(
            env(try container(api)) == [
                "API_KEY": "secret:tools-app-secrets/API_KEY", "DB_PASSWORD": "secret:tools-app-secrets/DB_PASSWORD",
                "EXTRA_TOKEN": "t0k", "LOG_LEVEL": "debug",
            ]
        )
        #expect(dig(try container(api), "ports", 0, "containerPort") as? Int == 9000)
        #expect(try command(api) == ["up", "--only", "api", "--no-deps"])
        for (name, port) in [("api", 9000), ("open", 9100), ("web", 8080)] {
            let service = try object("Service", name, in: objects)
            #expect(dig(service, "spec", "type") as? String == "ClusterIP")
            #expect(dig(service, "spec", "ports", 0, "port") as? Int == port)
            #expect(dig(service, "spec", "ports", 0, "targetPort") as? Int == port)
            let selector = dig(service, "spec", "selector") as? [String: String]
            #expect(selector?["app.kubernetes.io/name"] == name)
        }
        let sock = try object("Deployment", "sock", in: objects)
        #expect(try container(sock)["ports"] == nil)
        let files = try object("Deployment", "files", in: objects)
        #expect(try command(files) == ["up", "--only", "files", "--no-deps"])
    }

    private static func checkProcesses(_ objects: [[String: Any]]) throws {
        let status = { (name: String) in
            ["orchestrate", "-f", "/etc/orchestrate/daemons.yaml", "status", name, "--ready"]
        }
        let web = try container(try object("Deployment", "web", in: objects))
        #expect(dig(web, "readinessProbe", "httpGet", "path") as? String == "/healthz?full=1")
        #expect(dig(web, "readinessProbe", "httpGet", "port") as? Int == 8080)
        #expect(dig(web, "readinessProbe", "httpGet", "scheme") as? String == "HTTP")
        #expect(dig(web, "readinessProbe", "periodSeconds") as? Int == 2)
        #expect(dig(web, "livenessProbe", "exec", "command") as? [String] == status("web"))
        #expect(dig(web, "livenessProbe", "periodSeconds") as? Int == 15)
        #expect(dig(web, "livenessProbe", "timeoutSeconds") as? Int == 3)
        #expect(dig(web, "livenessProbe", "failureThreshold") as? Int == 4)
        #expect(dig(web, "livenessProbe", "initialDelaySeconds") as? Int == 20)
        let webPod = try pod(try object("Deployment", "web", in: objects))
        #expect(webPod["terminationGracePeriodSeconds"] as? Int == 35)
        #expect(
            (webPod["initContainers"] as? [[String: Any]])?.map { $0["name"] as? String } == [
                "wait-for-api", "wait-for-open",
            ]
        )

        let local = try object("Deployment", "local", in: objects)
        #expect(dig(try container(local), "readinessProbe", "exec", "command") as? [String] == status("local"))
        #expect(dig(try container(local), "livenessProbe", "exec", "command") as? [String] == ["test", "-f", "ok"])
        #expect(dig(try container(local), "livenessProbe", "failureThreshold") as? Int == 3)
        #expect(try pod(local)["terminationGracePeriodSeconds"] as? Int == 2 + 5)
        let logger = try container(try object("Deployment", "logger", in: objects))
        #expect(dig(logger, "readinessProbe", "exec", "command") as? [String] == status("logger"))
        #expect(dig(logger, "livenessProbe", "exec", "command") as? [String] == status("logger"))
        let checker = try container(try object("Deployment", "checker", in: objects))
        #expect(
            dig(checker, "readinessProbe", "exec", "command") as? [String]
                == ["/bin/sh", "-c", "cd '/app/sub' && test -f ready"]
        )
        #expect(checker["livenessProbe"] == nil)
    }

    /// The ConfigMap's manifest: adjusted for the cluster, and valid for the pods' orchestrate, which reads `$$` as
    /// `$` again.
    private static func checkManifest(_ configMap: [String: Any]) throws {
        let text = try #require(dig(configMap, "data", "daemons.yaml") as? String)
        #expect(text.hasPrefix("# Generated by `orchestrate export kubernetes` from daemons.yaml: "))
        let manifest = try #require(try documents(text).first)
        #expect(manifest["state_dir"] as? String == "/var/lib/orchestrate")
        #expect(manifest["env_file"] == nil)
        #expect(manifest["control"] == nil)
        #expect(manifest["env"] as? [String: String] == ["LOG_LEVEL": "debug"])
        let daemons = try #require(manifest["daemons"] as? [String: Any])
        #expect(dig(daemons, "nightly", "retry", "attempts") as? Int == 0)
        #expect(dig(daemons, "nightly", "command") as? [String] == ["sh", "-c", "echo $$HOME"])
        #expect(dig(daemons, "nightly", "cwd") as? String == "/app")
        #expect(dig(daemons, "web", "cwd") as? String == "/app/web")
        #expect(dig(daemons, "checker", "cwd") as? String == "/app/sub")
        #expect(dig(daemons, "api", "listen") as? String == "0.0.0.0:9000")
        #expect(dig(daemons, "api", "env") as? [String: String] == ["EXTRA_TOKEN": "t0k"])
        #expect(dig(daemons, "open", "listen") as? String == "0.0.0.0:9100")
        #expect(dig(daemons, "open", "auth", "insecure") as? Bool == true)
        #expect(dig(daemons, "sock", "listen") as? String == "unix:/app/run/api.sock")
        #expect(dig(daemons, "off", "enabled") as? Bool == false)
        #expect(dig(daemons, "files", "paths") as? [String] == ["src"])

        try TemporaryDirectory.with { directory in
            let file = try directory.write("daemons.yaml", text)
            let config = try E2E.run(["-f", file, "config", "--json"], in: directory.path)
            #expect(config.status == 0, "\(config.stderr)")
            let resolved = try E2E.jsonObject(config.stdout)
            #expect(dig(resolved, "daemons", "nightly", "command") as? [String] == ["sh", "-c", "echo $HOME"])
            #expect(dig(resolved, "daemons", "web", "cwd") as? String == "/app/web")
        }
    }
}
