import Foundation
import OrchestrateTesting
import Testing

/// `orchestrate export kubernetes` with the built binary: every object passes kubernetes-validate's strict check
/// (the schemas of Kubernetes 1.37), every field lands where it should, and every warning is the expected one.
@Suite("export kubernetes")
struct ExportKubernetesTests {
    /// The command that made examples/kubernetes/objects (README.md there), from the repository's root.
    static let exampleArguments = [
        "-f", "examples/daemons.yaml", "export", "kubernetes", "--image", "orchestrate-example:latest", "--name",
        "orchestrate-example",
    ]

    static let exampleWarnings: Set<String> = [
        "log rotation applies to the log files in each pod's emptyDir (/var/lib/orchestrate/logs), which go with the "
            + "pod; kubectl logs shows the container's output: `up` in the foreground mirrors its daemon's output, "
            + "`run` prints its run's",
        "core: listen 127.0.0.1:8420 is rewritten to 0.0.0.0:8420 in the ConfigMap: its Service reaches the pod's "
            + "IP, not its loopback",
        "issues-sync: interval 30s is not a cron schedule (a CronJob starts at whole minutes of the clock): it runs "
            + "as a Deployment whose supervisor keeps the interval (up --only issues-sync --no-deps)",
        "code-atlas: a watcher sees its own pod's files (/app/src, from the image), which change only when "
            + "something in the pod writes them: mount a volume there, shared with what writes them",
        "docs: ready probe http://127.0.0.1:8421/ checks loopback, which the kubelet cannot (it probes the pod's "
            + "IP): the readinessProbe asks the pod's supervisor instead (orchestrate status docs --ready), which "
            + "runs the probe itself",
    ]

    static let exampleFiles = [
        "configmap-orchestrate-example-manifest.yaml", "deployment-code-atlas.yaml", "deployment-core.yaml",
        "deployment-docs.yaml", "deployment-issues-sync.yaml", "service-core.yaml",
    ]

    @Test func theExamplePassesStrictValidationWithTheExpectedWarnings() throws {
        let result = try E2E.run(Self.exampleArguments, in: E2E.repositoryRoot())
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(Set(Kubernetes.warnings(result.stderr)) == Self.exampleWarnings)
        #expect(Kubernetes.warnings(result.stderr).count == Self.exampleWarnings.count)
        #expect(
            result.stderr.contains(
                "  kubectl create secret generic orchestrate-example-secrets --from-literal=CORE_API_KEY=…\n"
            )
        )
        try Kubernetes.validate(result.stdout)
        let objects = try Kubernetes.documents(result.stdout)
        #expect(
            objects.map { "\($0["kind"]!)/\(Kubernetes.name($0))" } == [
                "ConfigMap/orchestrate-example-manifest", "Deployment/code-atlas", "Deployment/core", "Deployment/docs",
                "Deployment/issues-sync", "Service/core",
            ]
        )
        let docs = try Kubernetes.object("Deployment", "docs", in: objects)
        let wait = try #require(Kubernetes.dig(docs, "spec", "template", "spec", "initContainers", 0) as? [String: Any])
        #expect(wait["image"] as? String == "busybox:1.36")
        #expect(
            (wait["command"] as? [String])?.last
                == "until nc -z -w 2 core 8420; do echo waiting for core:8420; sleep 1; done"
        )
        let core = try Kubernetes.object("Service", "core", in: objects)
        #expect(Kubernetes.dig(core, "spec", "ports", 0, "port") as? Int == 8420)
    }

    @Test(arguments: E2E.exampleManifests())
    func everyExampleManifestPassesStrictValidation(_ manifest: String) throws {
        let result = try E2E.run(
            ["-f", manifest, "export", "kubernetes", "--image", "example:1"],
            in: E2E.repositoryRoot()
        )
        #expect(result.status == 0, "stderr: \(result.stderr)")
        try Kubernetes.validate(result.stdout)
        #expect(try Kubernetes.documents(result.stdout).count > 1)
    }

    @Test func outputFolderHoldsOneFilePerObjectAndTheCommittedObjectsAreAFreshExport() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let root = E2E.repositoryRoot()
        let result = try E2E.run(Self.exampleArguments + ["-o", directory.path], in: root)
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("wrote 6 files into \(directory.path)"))
        let written = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(written == Self.exampleFiles)
        // The files are the stream's documents, one each, in the same order.
        let stream = try E2E.run(Self.exampleArguments, in: root)
        let files = try written.map { try String(contentsOfFile: directory.url($0), encoding: .utf8) }
        #expect(stream.stdout == files.map { "---\n" + $0 }.joined())
        try Kubernetes.validate(files.joined(separator: "---\n"))

        let committed = root + "/examples/kubernetes/objects"
        #expect(try FileManager.default.contentsOfDirectory(atPath: committed).sorted() == Self.exampleFiles)
        for (name, fresh) in zip(written, files) {
            let text = try String(contentsOfFile: committed + "/" + name, encoding: .utf8)
            #expect(
                text == fresh,
                "examples/kubernetes/objects/\(name) is stale: export again (examples/kubernetes/README.md)"
            )
        }
    }

    @Test func everyFieldCarriesOverWhereItShould() throws {
        try E2E.withManifest(Kubernetes.everyField) { directory in
            for folder in ["web", "sub", "src", "run"] {
                try FileManager.default.createDirectory(
                    atPath: directory.url(folder),
                    withIntermediateDirectories: true
                )
            }
            _ = try directory.write(".env", "SYNC_TOKEN=abc\n")
            let result = try E2E.run(
                [
                    "export", "kubernetes", "--image", "img:1", "--namespace", "tools", "--secret", "DB_PASSWORD",
                    "--name", "Tools_App",
                ],
                in: directory.path,
                environment: ["TZ": "Europe/Paris"]
            )
            #expect(result.status == 0, "stderr: \(result.stderr)")
            #expect(Set(Kubernetes.warnings(result.stderr)) == Kubernetes.everyFieldWarnings)
            #expect(Kubernetes.warnings(result.stderr).count == Kubernetes.everyFieldWarnings.count)
            #expect(
                result.stderr.contains(
                    "  kubectl create secret generic tools-app-secrets --namespace tools "
                        + "--from-literal=API_KEY=… --from-literal=DB_PASSWORD=…\n"
                )
            )
            try Kubernetes.validate(result.stdout)
            try Kubernetes.checkEveryField(try Kubernetes.documents(result.stdout))
        }
    }

    /// The example's Containerfile copies what the repository has (and the release binary `make release` makes)
    /// into the folder the objects' workingDir names.
    @Test func theContainerfileCopiesWhatExists() throws {
        let root = E2E.repositoryRoot()
        let text = try String(contentsOfFile: root + "/examples/kubernetes/Containerfile", encoding: .utf8)
        let copies = text.split(separator: "\n").filter { $0.hasPrefix("COPY ") }.map { $0.split(separator: " ") }
        #expect(copies.map { String($0[1]) } == [".build/release/orchestrate", "examples/scripts", "examples/src"])
        for copy in copies.dropFirst() {
            #expect(FileManager.default.fileExists(atPath: root + "/" + copy[1]), "\(copy[1])")
            #expect(copy[2].hasPrefix("/app/"))
        }
        #expect(text.contains("FROM debian:bookworm-slim"))
        #expect(text.contains("WORKDIR /app\n"))
    }

    @Test func wrongOptionsAreUsageErrors() throws {
        for options in [["--namespace", "Tools"], ["--secret", "1BAD"], ["--workdir", "app"]] {
            let result = try E2E.run(
                Self.exampleArguments + options,
                in: E2E.repositoryRoot()
            )
            #expect(result.status == 2, "\(options): \(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
    }
}
