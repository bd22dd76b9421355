import Foundation

/// What a finished child process printed and how it ended.
public struct CommandResult: Sendable {
    /// The exit status (or 128 + signal).
    public var status: Int32
    /// Everything written to standard output.
    public var stdout: String
    /// Everything written to standard error.
    public var stderr: String
}

/// Runs real programs for tests: the built `orchestrate` binary and helpers like `python3`.
public enum TestProcess {
    /// The `orchestrate` binary built beside the test bundle (`swift build` puts both in one folder).
    public static var orchestrateBinary: String {
        let executable =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        var folder = (executable as NSString).deletingLastPathComponent
        // The test runner may sit inside a `.xctest` bundle folder.
        while !folder.isEmpty, folder != "/" {
            let candidate = (folder as NSString).appendingPathComponent("orchestrate")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue {
                return candidate
            }
            folder = (folder as NSString).deletingLastPathComponent
        }
        return "orchestrate"
    }

    /// Runs `arguments[0]` (found on PATH when not a path) to completion, with a deadline after which
    /// the child is killed and the result says so.
    public static func run(
        _ arguments: [String],
        in directory: String? = nil,
        environment: [String: String]? = nil,
        stdin: String? = nil,
        deadline: Duration = .seconds(60)
    ) throws -> CommandResult {
        let process = Process()
        if arguments[0].contains("/") {
            process.executableURL = URL(fileURLWithPath: arguments[0])
            process.arguments = Array(arguments.dropFirst())
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = arguments
        }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if let environment { process.environment = environment }
        let output = Pipe()
        let errors = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        // Read both pipes while the child runs, so a chatty child cannot fill a pipe and stall.
        let collected = Collected()
        let group = DispatchGroup()
        // Each reader blocks for the child's whole life: threads of their own, not the global queues' few
        // threads, which the code under test needs for its timers.
        for (index, pipe) in [output, errors].enumerated() {
            group.enter()
            Thread {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collected.set(index, data)
                group.leave()
            }.start()
        }
        let seconds = Double(deadline.components.seconds) + Double(deadline.components.attoseconds) / 1e18
        if group.wait(timeout: .now() + seconds) == .timedOut {
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
            group.wait()
        }
        process.waitUntilExit()
        let status =
            process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return CommandResult(status: status, stdout: collected.text(0), stderr: collected.text(1))
    }

    /// Runs the built `orchestrate` with `arguments`.
    public static func orchestrate(
        _ arguments: [String],
        in directory: String? = nil,
        environment: [String: String]? = nil
    ) throws -> CommandResult {
        try run([orchestrateBinary] + arguments, in: directory, environment: environment)
    }
}

/// Output gathered from two reader threads.
private final class Collected: @unchecked Sendable {
    // Safe: every access goes through `lock`.
    private let lock = NSLock()
    private var data: [Int: Data] = [:]

    func set(_ index: Int, _ value: Data) {
        lock.lock()
        data[index] = value
        lock.unlock()
    }

    func text(_ index: Int) -> String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: data[index] ?? Data(), as: UTF8.self)
    }
}
