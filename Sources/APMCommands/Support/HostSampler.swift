import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One reading of the host `apm run-program` runs on, from /proc and statfs: what the OpenTelemetry host metrics
/// semantic conventions name `system.cpu.utilization` (per state), `system.cpu.load_average.*`,
/// `system.memory.usage`, `system.paging.usage`, `system.filesystem.usage`, `system.disk.io` and
/// `system.network.io`/`.packets`/`.errors`. Rates and utilisations are over the interval since the previous
/// reading; the first reading has none.
struct HostSample: Sendable, Equatable {
    /// Unix seconds.
    var timestamp: Double
    /// Share of the CPU time in each state over the interval (0 to 1; all states sum to 1), `[:]` on the first
    /// reading. States as the conventions name them: user, nice, system, idle, wait (iowait), interrupt, steal.
    var cpuUtilization: [String: Double]
    /// Load averages over 1, 5 and 15 minutes.
    var load: LoadAverages
    /// Memory in bytes: total, available (what can be given to programs without swapping), used (total less
    /// available), and swap total and used.
    var memory: Memory
    /// The file systems the program's data lives on (its working directory's, and `/`), once each.
    var filesystems: [Filesystem]
    /// Bytes read and written per block device since the previous reading.
    var disks: [Device]
    /// Bytes, packets and errors received and sent per network interface since the previous reading (loopback
    /// left out).
    var interfaces: [Interface]

    struct LoadAverages: Sendable, Equatable {
        var one: Double
        var five: Double
        var fifteen: Double
    }

    struct Memory: Sendable, Equatable {
        var total: UInt64
        var available: UInt64
        var used: UInt64 { total > available ? total - available : 0 }
        var swapTotal: UInt64
        var swapFree: UInt64
        var swapUsed: UInt64 { swapTotal > swapFree ? swapTotal - swapFree : 0 }
    }

    struct Filesystem: Sendable, Equatable {
        var mountpoint: String
        var device: String
        var total: UInt64
        var free: UInt64
        var used: UInt64 { total > free ? total - free : 0 }
    }

    struct Device: Sendable, Equatable {
        var name: String
        var readBytes: UInt64
        var writtenBytes: UInt64
    }

    struct Interface: Sendable, Equatable {
        var name: String
        var receivedBytes: UInt64
        var sentBytes: UInt64
        var receivedPackets: UInt64
        var sentPackets: UInt64
        var receiveErrors: UInt64
        var sendErrors: UInt64
    }
}

/// Reads ``HostSample``s: cumulative counters (CPU ticks, disk sectors, interface bytes) are kept from one
/// reading to the next and reported as what happened in between. A counter that went down (a device replaced,
/// a counter wrapped) counts from zero rather than as a negative.
struct HostSampler {
    /// Where /proc is (a test points it at a copy).
    let proc: String
    /// The directories whose file systems are reported.
    let directories: [String]
    private var lastCPU: [String: UInt64]?
    private var lastDisks: [String: (read: UInt64, written: UInt64)] = [:]
    private var lastInterfaces: [String: HostSample.Interface] = [:]

    init(proc: String = "/proc", directories: [String] = [FileManager.default.currentDirectoryPath, "/"]) {
        self.proc = proc
        self.directories = directories
    }

    /// One reading; `nil` where /proc cannot be read (not Linux).
    mutating func sample(now: Double = Date().timeIntervalSince1970) -> HostSample? {
        guard let stat = read("stat"), let cpu = Self.cpuTicks(stat) else { return nil }
        var utilization: [String: Double] = [:]
        if let lastCPU {
            utilization = Self.utilization(from: lastCPU, to: cpu)
        }
        lastCPU = cpu
        let load = read("loadavg").flatMap(Self.loadAverages) ?? HostSample.LoadAverages(one: 0, five: 0, fifteen: 0)
        let memory =
            read("meminfo").map(Self.memory) ?? HostSample.Memory(total: 0, available: 0, swapTotal: 0, swapFree: 0)
        let mounts = read("self/mounts").map(Self.mounts) ?? []
        var disks: [HostSample.Device] = []
        for device in read("diskstats").map(Self.diskBytes) ?? [] {
            if let last = lastDisks[device.name] {
                disks.append(
                    HostSample.Device(
                        name: device.name,
                        readBytes: Self.increase(from: last.read, to: device.readBytes),
                        writtenBytes: Self.increase(from: last.written, to: device.writtenBytes)
                    )
                )
            }
            lastDisks[device.name] = (device.readBytes, device.writtenBytes)
        }
        var interfaces: [HostSample.Interface] = []
        for interface in read("net/dev").map(Self.interfaces) ?? [] {
            if let last = lastInterfaces[interface.name] {
                interfaces.append(Self.increase(from: last, to: interface))
            }
            lastInterfaces[interface.name] = interface
        }
        return HostSample(
            timestamp: now,
            cpuUtilization: utilization,
            load: load,
            memory: memory,
            filesystems: Self.filesystems(of: directories, mounts: mounts),
            disks: disks.sorted { $0.name < $1.name },
            interfaces: interfaces.sorted { $0.name < $1.name }
        )
    }

    private func read(_ path: String) -> String? {
        try? String(contentsOfFile: "\(proc)/\(path)", encoding: .utf8)
    }

    // MARK: Parsers (pure: the tests give them /proc's text)

    /// The conventions' CPU states, in /proc/stat's column order (guest time is already in user and nice).
    static let cpuStates = ["user", "nice", "system", "idle", "wait", "interrupt", "softirq", "steal"]

    /// The `cpu` line of /proc/stat: ticks per state since boot.
    static func cpuTicks(_ stat: String) -> [String: UInt64]? {
        guard let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let numbers = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard numbers.count >= 4 else { return nil }
        var ticks: [String: UInt64] = [:]
        for (state, value) in zip(cpuStates, numbers) { ticks[state, default: 0] += value }
        return ticks
    }

    /// Each state's share of the ticks between two readings; softirq counts as interrupt, as the conventions
    /// have no state of its own for it.
    static func utilization(from old: [String: UInt64], to new: [String: UInt64]) -> [String: Double] {
        var deltas: [String: UInt64] = [:]
        for (state, value) in new {
            deltas[state == "softirq" ? "interrupt" : state, default: 0] += increase(from: old[state] ?? 0, to: value)
        }
        let total = deltas.values.reduce(0, +)
        guard total > 0 else { return [:] }
        return deltas.mapValues { Double($0) / Double(total) }
    }

    /// /proc/loadavg's first three fields.
    static func loadAverages(_ text: String) -> HostSample.LoadAverages? {
        let fields = text.split(separator: " ").prefix(3).compactMap { Double($0) }
        guard fields.count == 3 else { return nil }
        return HostSample.LoadAverages(one: fields[0], five: fields[1], fifteen: fields[2])
    }

    /// /proc/meminfo's totals (kB there, bytes here).
    static func memory(_ text: String) -> HostSample.Memory {
        var kilobytes: [Substring: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let value = UInt64(parts[1]) else { continue }
            kilobytes[parts[0].dropLast()] = value
        }
        return HostSample.Memory(
            total: (kilobytes["MemTotal"] ?? 0) * 1024,
            available: (kilobytes["MemAvailable"] ?? kilobytes["MemFree"] ?? 0) * 1024,
            swapTotal: (kilobytes["SwapTotal"] ?? 0) * 1024,
            swapFree: (kilobytes["SwapFree"] ?? 0) * 1024
        )
    }

    /// /proc/self/mounts: device and mount point of each mount (octal escapes such as `\040` decoded).
    static func mounts(_ text: String) -> [(device: String, mountpoint: String)] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 2 else { return nil }
            return (unescaped(fields[0]), unescaped(fields[1]))
        }
    }

    private static func unescaped(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3,
                let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The file system of each directory (the longest mount point that contains it), once each, with its size
    /// and free space (what a program without root's reserve may still use, as `df` shows it).
    static func filesystems(
        of directories: [String],
        mounts: [(device: String, mountpoint: String)]
    ) -> [HostSample.Filesystem] {
        var seen: Set<String> = []
        var result: [HostSample.Filesystem] = []
        for directory in directories {
            let mount = mounts.filter { mount in
                directory == mount.mountpoint || mount.mountpoint == "/"
                    || directory.hasPrefix(mount.mountpoint.hasSuffix("/") ? mount.mountpoint : mount.mountpoint + "/")
            }.max { $0.mountpoint.count < $1.mountpoint.count }
            guard let mount, seen.insert(mount.mountpoint).inserted else { continue }
            var info = statvfs()
            guard statvfs(mount.mountpoint, &info) == 0 else { continue }
            let block = UInt64(info.f_frsize)
            result.append(
                HostSample.Filesystem(
                    mountpoint: mount.mountpoint,
                    device: mount.device,
                    total: UInt64(info.f_blocks) * block,
                    free: UInt64(info.f_bavail) * block
                )
            )
        }
        return result
    }

    /// /proc/diskstats: bytes read and written since boot per whole device (partitions and virtual devices
    /// such as loop and ram left out, so that nothing counts twice). Sectors are 512 bytes there, whatever the
    /// device's own size.
    static func diskBytes(_ text: String) -> [(name: String, readBytes: UInt64, writtenBytes: UInt64)] {
        let lines = text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        let names = Set(lines.compactMap { $0.count > 2 ? String($0[2]) : nil })
        return lines.compactMap { fields in
            guard fields.count >= 10, let read = UInt64(fields[5]), let written = UInt64(fields[9]) else { return nil }
            let name = String(fields[2])
            guard !name.hasPrefix("loop"), !name.hasPrefix("ram"), !isPartition(name, of: names) else { return nil }
            return (name, read * 512, written * 512)
        }
    }

    /// `sda1` of `sda`, `nvme0n1p1` of `nvme0n1`, `mmcblk0p1` of `mmcblk0`.
    private static func isPartition(_ name: String, of names: Set<String>) -> Bool {
        var base = Substring(name)
        while let last = base.last, last.isNumber { base = base.dropLast() }
        guard base.count < name.count else { return false }
        if names.contains(String(base)) { return true }
        return base.hasSuffix("p") && names.contains(String(base.dropLast()))
    }

    /// /proc/net/dev: per interface (loopback left out), received and sent bytes, packets and errors since boot.
    static func interfaces(_ text: String) -> [HostSample.Interface] {
        text.split(separator: "\n").dropFirst(2).compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces)
            let numbers = line[line.index(after: colon)...].split(separator: " ").compactMap { UInt64($0) }
            guard name != "lo", numbers.count >= 11 else { return nil }
            return HostSample.Interface(
                name: name,
                receivedBytes: numbers[0],
                sentBytes: numbers[8],
                receivedPackets: numbers[1],
                sentPackets: numbers[9],
                receiveErrors: numbers[2],
                sendErrors: numbers[10]
            )
        }
    }

    // MARK: Counters

    static func increase(from old: UInt64, to new: UInt64) -> UInt64 { new >= old ? new - old : new }

    static func increase(from old: HostSample.Interface, to new: HostSample.Interface) -> HostSample.Interface {
        HostSample.Interface(
            name: new.name,
            receivedBytes: increase(from: old.receivedBytes, to: new.receivedBytes),
            sentBytes: increase(from: old.sentBytes, to: new.sentBytes),
            receivedPackets: increase(from: old.receivedPackets, to: new.receivedPackets),
            sentPackets: increase(from: old.sentPackets, to: new.sentPackets),
            receiveErrors: increase(from: old.receiveErrors, to: new.receiveErrors),
            sendErrors: increase(from: old.sendErrors, to: new.sendErrors)
        )
    }
}
