import APMCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads a process's CPU, memory, threads and open files from /proc.
struct ProcessSampler {
    let pid: pid_t
    private var lastTicks: Double?
    private var lastTime: Double?
    private let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    init(pid: pid_t) {
        self.pid = pid
    }

    mutating func sample() -> ProcessSample? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name (which may contain spaces): state is field 3, utime 14, stime 15, threads 20.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 17, let user = Double(fields[11]), let system = Double(fields[12]),
            let threads = Int(fields[17])
        else { return nil }
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let rssKiB =
            status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?.split(separator: " ").dropFirst().first
            .flatMap { UInt64($0) } ?? 0
        let files = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        let now = Date().timeIntervalSince1970
        let ticks = user + system
        var cpu = 0.0
        if let lastTicks, let lastTime, now > lastTime {
            cpu = max(0, (ticks - lastTicks) / ticksPerSecond / (now - lastTime) * 100)
        }
        lastTicks = ticks
        lastTime = now
        return ProcessSample(
            timestamp: now,
            cpuPercent: cpu,
            residentBytes: rssKiB * 1024,
            threads: threads,
            openFiles: files
        )
    }
}
