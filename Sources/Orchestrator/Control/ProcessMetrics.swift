import DaemonKit
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// The standard `process_*` series of the supervisor itself, as Prometheus's client libraries name them, read from
/// `/proc/self` at each scrape. Written as text, beside the registry's: swift-prometheus has no process collector,
/// and its counters cannot be set to a total the kernel keeps.
struct ProcessMetrics {
    var residentBytes: Double?
    var virtualBytes: Double?
    var cpuSeconds: Double?
    var startTime: Double?
    var openDescriptors: Int?
    var maxDescriptors: Int?

    /// The supervisor's figures now.
    static func read() -> ProcessMetrics {
        var metrics = ProcessMetrics()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        // Fields after the command's name, which sits in parentheses and may hold spaces: state is field 3, utime 14,
        // stime 15, starttime 22, vsize 23, rss 24 (proc(5)).
        if let stat = FileBytes.text("/proc/self/stat"), let close = stat.lastIndex(of: ")") {
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            func field(_ number: Int) -> Double? { fields.count > number - 3 ? Double(fields[number - 3]) : nil }
            if let user = field(14), let system = field(15) { metrics.cpuSeconds = (user + system) / ticks }
            if let virtual = field(23) { metrics.virtualBytes = virtual }
            if let pages = field(24) { metrics.residentBytes = pages * Double(sysconf(Int32(_SC_PAGESIZE))) }
            if let started = field(22), let boot = bootTime() { metrics.startTime = boot + started / ticks }
        }
        if let folder = opendir("/proc/self/fd") {
            var count = 0
            while let entry = readdir(folder) {
                if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
            }
            closedir(folder)
            metrics.openDescriptors = count - 1  // the folder's own descriptor
        }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { metrics.maxDescriptors = Int(limit.rlim_cur) }
        return metrics
    }

    /// When the machine booted, in seconds since the Unix epoch (`btime` of `/proc/stat`).
    static func bootTime() -> Double? {
        guard let text = FileBytes.text("/proc/stat") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return line.split(separator: " ").last.flatMap { Double($0) }
        }
        return nil
    }

    /// Appends the series it has, each with its `# HELP` and `# TYPE` lines.
    func emit(into text: inout [UInt8]) {
        func series(_ name: String, _ type: String, _ help: String, _ value: Double?) {
            guard let value else { return }
            let number = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
            text += Array("# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(number)\n".utf8)
        }
        series("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpuSeconds)
        series("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", residentBytes)
        series("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", virtualBytes)
        series(
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            startTime
        )
        series("process_open_fds", "gauge", "Number of open file descriptors.", openDescriptors.map(Double.init))
        series("process_max_fds", "gauge", "Maximum number of open file descriptors.", maxDescriptors.map(Double.init))
    }
}
