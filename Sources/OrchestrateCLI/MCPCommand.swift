import ArgumentParser
import DaemonKit
import FoundationEssentials
import Manifest
import Orchestrator

struct MCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve the Model Context Protocol on stdio: tools for a coding agent to run and watch the daemons.",
        discussion: """
            An MCP client (a coding agent, an editor) starts `orchestrate mcp` and talks to it over standard input and \\
            output, for the manifest found the usual way (-f, $ORCHESTRATE_FILE, ./daemons.yaml or the nearest one \\
            above). Its tools: status, logs (name, lines, grep), trigger (name, wait), start, stop, restart, scale (name, \\
            replicas), reload (the plan or the errors), validate and config. A tool that needs a supervisor says so when none runs, and starts \\
            one when the manifest has auto_start: true. Nothing but the protocol is written to standard output.

            Exit status: 0 once standard input ends.

            Example (a client's configuration):
              {"mcpServers": {"orchestrate": {"command": "orchestrate", "args": ["-f", "/abs/daemons.yaml", "mcp"]}}}
            """
    )

    @OptionGroup var manifest: ManifestOptions

    func run() async throws {
        let server = MCPServer(
            name: "orchestrate",
            version: Orchestrate.configuration.version,
            instructions: "The daemons of a project's daemons.yaml, supervised by orchestrate: read their status and "
                + "logs, run a periodic or watcher daemon now (trigger), start, stop or restart one, scale a process, and apply "
                + "the manifest after editing it (validate, then reload).",
            tools: MCPTools(options: manifest).tools
        )
        await server.serve()
    }
}

/// The tools of `orchestrate mcp`: each does what the command of the same name does, and answers in text.
struct MCPTools: Sendable {
    let options: ManifestOptions

    var tools: [MCPServer.Tool] {
        let name = ("name", Self.property("string", "The daemon's name."))
        return [
            tool(
                "status",
                "The daemons: state, runs, failures, restarts, last and next run, PIDs (the status document).",
                [("name", Self.property("string", "Only this daemon."))]
            ) { try status($0) },
            tool(
                "logs",
                "The last lines of the daemons' logs, interleaved by time, each with its daemon's name.",
                [
                    ("name", Self.property("string", "Only this daemon's log.")),
                    ("lines", Self.property("integer", "How many lines of each log (default 50).")),
                    (
                        "grep",
                        Self.property("string", "Only lines matching this regular expression (rotated files too).")
                    ),
                ]
            ) { try logs($0) },
            tool(
                "trigger",
                "Run a periodic or watcher daemon now; with wait, until it ends, with its exit status.",
                [name, ("wait", Self.property("boolean", "Wait for the run to end."))],
                required: ["name"]
            ) {
                try trigger($0)
            },
            tool("start", "Start a daemon.", [name], required: ["name"]) { try lifecycle("start", $0) },
            tool(
                "stop",
                "Stop a daemon (its stop signal, then SIGKILL after its stop timeout).",
                [name],
                required: ["name"]
            ) {
                try lifecycle("stop", $0)
            },
            tool(
                "restart",
                "Restart a daemon, and those that follow it with restart_with_dependencies.",
                [name],
                required: ["name"]
            ) { try lifecycle("restart", $0) },
            tool(
                "scale",
                "Run a process daemon as N copies (NAME#1…NAME#N), starting or stopping only the difference.",
                [name, ("replicas", Self.property("integer", "How many copies run from now on (1 to 1000)."))],
                required: ["name", "replicas"]
            ) { try scale($0) },
            tool("reload", "Apply daemons.yaml now: the plan (added, changed, removed, unchanged), or every error.", [])
            {
                _ in try reload()
            },
            tool("validate", "Check daemons.yaml: a summary, or every error with its file, line and column.", []) { _ in
                MCPServer.Result(try ManifestOptions.load(file: options.file, set: options.set).manifest.summary)
            },
            tool("config", "The resolved manifest (defaults, interpolation and overrides applied) as YAML.", []) { _ in
                MCPServer.Result(ConfigRenderer(try options.load()).renderYAML())
            },
        ]
    }

    private func tool(
        _ name: String,
        _ description: String,
        _ properties: [(String, JSONValue)],
        required: [String] = [],
        _ body: @escaping @Sendable (JSONValue) throws -> MCPServer.Result
    ) -> MCPServer.Tool {
        var schema: [(String, JSONValue)] = [("type", .string("object")), ("properties", .object(properties))]
        if !required.isEmpty { schema.append(("required", .array(required.map(JSONValue.string)))) }
        return MCPServer.Tool(name: name, description: description, inputSchema: .object(schema)) { arguments in
            do {
                return try body(arguments)
            } catch let failure as CommandFailure {
                return MCPServer.Result(failure.message, isError: true)
            } catch {
                return MCPServer.Result("\(error)", isError: true)
            }
        }
    }

    private static func property(_ type: String, _ description: String) -> JSONValue {
        .object([("type", .string(type)), ("description", .string(description))])
    }

    /// A client of the running supervisor (started first with auto_start: true); a failure saying none runs.
    private func supervisor() throws -> ControlContext {
        let context = try ControlContext(options)
        try context.autoStart(options)
        guard context.client.isRunning else {
            throw CommandFailure(
                message: "no supervisor runs for \(context.file); start one with `orchestrate up -d` (or set "
                    + "auto_start: true in the manifest to have the tools start it)",
                status: 3
            )
        }
        return context
    }

    private func text(_ arguments: JSONValue, _ key: String) -> String? {
        if case .string(let value)? = arguments[key] { return value }
        return nil
    }

    private func json(_ value: some Encodable) -> String {
        let encoder = StatusDocument.encoder
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    private func status(_ arguments: JSONValue) throws -> MCPServer.Result {
        let context = try supervisor()
        do {
            let document = try context.client.status()
            guard let name = text(arguments, "name") else { return MCPServer.Result(json(document)) }
            guard let record = document.daemons.first(where: { $0.name == name }) else {
                throw CommandFailure.usage("no daemon named '\(name)'")
            }
            return MCPServer.Result(json(record))
        } catch let failure as SupervisorClient.Failure {
            throw context.fail(failure)
        }
    }

    private func logs(_ arguments: JSONValue) throws -> MCPServer.Result {
        var (stateFolder, names) = try Logs.logs(of: options)
        if let name = text(arguments, "name") {
            guard names.contains(name) else { throw CommandFailure.usage("no daemon named '\(name)'") }
            names = [name]
        }
        var count = 50
        if case .int(let lines)? = arguments["lines"] { count = max(1, lines) }
        let filter: LogReader.Filter
        do {
            filter = try LogReader.Filter(grep: text(arguments, "grep"))
        } catch {
            throw CommandFailure.usage("grep is not a valid regular expression: \(error)")
        }
        var reader = LogReader(stateFolder: stateFolder, names: names)
        let lines = filter.isEmpty ? reader.tail(count) : reader.select(filter, last: count)
        let width = names.map(\.count).max() ?? 0
        let shown = lines.map { $0.daemon.padded(to: width) + " | " + $0.text }.joined(separator: "\n")
        return MCPServer.Result(shown.isEmpty ? "(no lines)" : shown)
    }

    private func trigger(_ arguments: JSONValue) throws -> MCPServer.Result {
        let context = try supervisor()
        let name = text(arguments, "name") ?? ""
        let wait = arguments["wait"] == .bool(true)
        do {
            let outcome = try context.client.trigger(name, wait: wait)
            let failed = outcome.outcome == .finished && outcome.exitCode != 0
            return MCPServer.Result(json(outcome), isError: failed || outcome.outcome == .refused)
        } catch let failure {
            throw context.fail(failure)
        }
    }

    private func lifecycle(_ action: String, _ arguments: JSONValue) throws -> MCPServer.Result {
        let context = try supervisor()
        do {
            // A daemon with replicas answers with the record of each copy.
            let records = try context.client.lifecycleOfEach(action, text(arguments, "name") ?? "")
            return MCPServer.Result(records.count == 1 ? json(records[0]) : json(records))
        } catch let failure {
            throw context.fail(failure)
        }
    }

    private func scale(_ arguments: JSONValue) throws -> MCPServer.Result {
        let context = try supervisor()
        guard case .int(let replicas)? = arguments["replicas"] else {
            return MCPServer.Result("replicas: expected an integer from 1 to 1000", isError: true)
        }
        do {
            let outcome = try context.client.scale(text(arguments, "name") ?? "", to: replicas)
            return MCPServer.Result(json(outcome), isError: !outcome.ok)
        } catch let failure {
            throw context.fail(failure)
        }
    }

    private func reload() throws -> MCPServer.Result {
        let context = try supervisor()
        do {
            let outcome = try context.client.reload(ReloadBody(environment: nil, set: nil, dryRun: false))
            return MCPServer.Result(json(outcome), isError: !outcome.ok)
        } catch let failure {
            throw context.fail(failure)
        }
    }
}
