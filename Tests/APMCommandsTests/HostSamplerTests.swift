import APMCore
import Foundation
import Testing

@testable import APMCommands

/// The host's figures as run-program reads them: the parsers against known /proc text (exact), and a reading of
/// this machine against /proc and statfs read here.
@Suite struct HostSamplerTests {
    /// A copy of /proc with two readings' worth of counters: the test writes the files, the sampler reads them.
    final class FakeProc {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("proc-\(UUID().uuidString)")

        init() throws {
            try FileManager.default.createDirectory(
                at: directory.appendingPathComponent("self"),
                withIntermediateDirectories: true
            )
            try FileManager.default.createDirectory(
                at: directory.appendingPathComponent("net"),
                withIntermediateDirectories: true
            )
        }

        func write(_ path: String, _ text: String) throws {
            try text.write(to: directory.appendingPathComponent(path), atomically: true, encoding: .utf8)
        }

        deinit { try? FileManager.default.removeItem(at: directory) }
    }

    static let meminfo = """
        MemTotal:       24576000 kB
        MemFree:         1000000 kB
        MemAvailable:   16384000 kB
        Buffers:          100000 kB
        SwapTotal:       2097148 kB
        SwapFree:        1048574 kB
        """

    static func stat(
        user: UInt64,
        system: UInt64,
        idle: UInt64,
        iowait: UInt64,
        steal: UInt64,
        softirq: UInt64
    )
        -> String
    {
        """
        cpu  \(user) 0 \(system) \(idle) \(iowait) 0 \(softirq) \(steal) 0 0
        cpu0 1 0 1 1 0 0 0 0 0 0
        intr 12345
        """
    }

    static func diskstats(sdaRead: UInt64, sdaWritten: UInt64) -> String {
        """
           7       0 loop0 10 0 4000 0 0 0 0 0 0 0 0
           8       0 sda 100 0 \(sdaRead) 50 200 0 \(sdaWritten) 80 0 100 130
           8       1 sda1 90 0 \(sdaRead / 2) 40 190 0 \(sdaWritten / 2) 70 0 90 110
         259       0 nvme0n1 5 0 16 1 0 0 0 0 0 1 1
         259       1 nvme0n1p1 5 0 16 1 0 0 0 0 0 1 1
        """
    }

    static func netdev(ethReceived: UInt64, ethSent: UInt64, errors: UInt64) -> String {
        """
        Inter-|   Receive                                                |  Transmit
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
            lo: 5000      50    0    0    0     0          0         0     5000      50    0    0    0     0       0          0
          eth0: \(ethReceived)   1000    \(errors)    0    0     0          0         0 \(ethSent)   900    0    0    0     0       0          0
        """
    }

    @Test func countersBetweenTwoReadingsAreTheIncreasesAndUtilisationTheShareOfTicks() throws {
        let proc = try FakeProc()
        try proc.write("loadavg", "0.50 1.25 2.00 3/400 12345\n")
        try proc.write("meminfo", Self.meminfo)
        try proc.write("self/mounts", "/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /data\\040disk ext4 rw 0 0\n")
        try proc.write("stat", Self.stat(user: 1000, system: 500, idle: 8000, iowait: 100, steal: 0, softirq: 0))
        try proc.write("diskstats", Self.diskstats(sdaRead: 1000, sdaWritten: 2000))
        try proc.write("net/dev", Self.netdev(ethReceived: 10_000, ethSent: 20_000, errors: 1))
        var sampler = HostSampler(proc: proc.directory.path, directories: ["/"])
        let firstReading = sampler.sample(now: 100)
        let first = try #require(firstReading)
        // The first reading has no interval: no utilisation, no increases; levels are read as they are.
        #expect(first.cpuUtilization.isEmpty && first.disks.isEmpty && first.interfaces.isEmpty)
        #expect(first.load.one == 0.5 && first.load.five == 1.25 && first.load.fifteen == 2.0)
        #expect(first.memory.total == 24_576_000 * 1024 && first.memory.available == 16_384_000 * 1024)
        #expect(first.memory.used == 8_192_000 * 1024)
        #expect(first.memory.swapTotal == 2_097_148 * 1024 && first.memory.swapUsed == 1_048_574 * 1024)

        // 400 ticks: user 200, system 100, idle 60, iowait 20, steal 10, softirq 10 (counted as interrupt).
        try proc.write("stat", Self.stat(user: 1200, system: 600, idle: 8060, iowait: 120, steal: 10, softirq: 10))
        try proc.write("diskstats", Self.diskstats(sdaRead: 1500, sdaWritten: 2100))
        try proc.write("net/dev", Self.netdev(ethReceived: 12_500, ethSent: 20_100, errors: 3))
        let secondReading = sampler.sample(now: 160)
        let second = try #require(secondReading)
        #expect(second.cpuUtilization["user"] == 0.5)
        #expect(second.cpuUtilization["system"] == 0.25)
        #expect(second.cpuUtilization["idle"] == 0.15)
        #expect(second.cpuUtilization["wait"] == 0.05)
        #expect(second.cpuUtilization["steal"] == 0.025)
        #expect(second.cpuUtilization["interrupt"] == 0.025)
        #expect(abs(second.cpuUtilization.values.reduce(0, +) - 1) < 1e-12)
        // Whole devices only (partitions, loop devices left out); sectors of 512 bytes.
        #expect(
            second.disks == [
                HostSample.Device(name: "nvme0n1", readBytes: 0, writtenBytes: 0),
                HostSample.Device(name: "sda", readBytes: 500 * 512, writtenBytes: 100 * 512),
            ]
        )
        // Loopback left out.
        #expect(second.interfaces.map(\.name) == ["eth0"])
        #expect(second.interfaces.first?.receivedBytes == 2_500 && second.interfaces.first?.sentBytes == 100)
        #expect(second.interfaces.first?.receiveErrors == 2 && second.interfaces.first?.receivedPackets == 0)

        // A counter that went down (a device reset) counts from zero, never negative.
        try proc.write("net/dev", Self.netdev(ethReceived: 300, ethSent: 20_200, errors: 3))
        let thirdReading = sampler.sample(now: 220)
        let third = try #require(thirdReading)
        #expect(third.interfaces.first?.receivedBytes == 300 && third.interfaces.first?.sentBytes == 100)
    }

    @Test func mountPointsAreDecodedAndEachFileSystemIsReportedOnce() {
        let mounts = HostSampler.mounts("/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /data\\040disk ext4 rw 0 0\n")
        #expect(mounts.map(\.mountpoint) == ["/", "/data disk"])
        let filesystems = HostSampler.filesystems(of: ["/tmp", "/", "/usr"], mounts: [("/dev/root", "/")])
        #expect(filesystems.map(\.mountpoint) == ["/"])
    }

    @Test func aReadingOfThisMachineAgreesWithProcAndStatfs() throws {
        var sampler = HostSampler()
        guard sampler.sample() != nil else {
            Issue.record("/proc is not readable here")
            return
        }
        let readingReading = sampler.sample()
        let reading = try #require(readingReading)
        // Memory: the same MemTotal as /proc/meminfo read here (levels move, the total does not).
        let meminfo = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let total = meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }?
            .split(separator: " ", omittingEmptySubsequences: true)[1]
        #expect(reading.memory.total == UInt64(total ?? "0").map { $0 * 1024 })
        #expect(reading.memory.available <= reading.memory.total)
        // The root file system's size as statfs says it.
        var info = statvfs()
        #expect(statvfs("/", &info) == 0)
        let root = try #require(reading.filesystems.first { $0.mountpoint == "/" })
        #expect(root.total == UInt64(info.f_blocks) * UInt64(info.f_frsize))
        // Utilisation is a share: every state from 0 to 1, together 1 when any tick passed.
        for (_, share) in reading.cpuUtilization { #expect(share >= 0 && share <= 1) }
        if !reading.cpuUtilization.isEmpty {
            #expect(abs(reading.cpuUtilization.values.reduce(0, +) - 1) < 1e-9)
        }
        // The load averages /proc/loadavg gives (they change only every 5 s: equal, or read across a change).
        let loadavg = try String(contentsOfFile: "/proc/loadavg", encoding: .utf8)
        let fifteen = Double(loadavg.split(separator: " ")[2]) ?? -1
        #expect(abs(reading.load.fifteen - fifteen) < 0.5)
    }

    /// A reading as metric points: OpenTelemetry's names, delta counters for what happened in between, at most 16
    /// disks and 16 interfaces (by name), swap only when there is some.
    @Test func aReadingBecomesTheConventionsPointsWithAtMostSixteenDevices() {
        let interfaces = (0..<20).map { index in
            HostSample.Interface(
                name: String(format: "veth%02d", index),
                receivedBytes: 100,
                sentBytes: 200,
                receivedPackets: 3,
                sentPackets: 4,
                receiveErrors: 0,
                sendErrors: 1
            )
        }
        let sample = HostSample(
            timestamp: 1_796_313_600.5,
            cpuUtilization: ["user": 0.25, "idle": 0.75],
            load: HostSample.LoadAverages(one: 1, five: 2, fifteen: 3),
            memory: HostSample.Memory(total: 8 << 30, available: 6 << 30, swapTotal: 0, swapFree: 0),
            filesystems: [HostSample.Filesystem(mountpoint: "/", device: "/dev/sda1", total: 100, free: 40)],
            disks: (0..<18).map {
                HostSample.Device(name: "sd\(Character(UnicodeScalar(97 + $0)!))", readBytes: 5, writtenBytes: 6)
            },
            interfaces: interfaces
        )
        let points = sample.metricPoints()
        #expect(points.allSatisfy { $0.timeUnixNano == 1_796_313_600_500_000_000 && $0.problem == nil })
        let network = points.filter { $0.name == "system.network.io" }
        #expect(Set(network.compactMap { $0.attributes["device"] }) == Set(interfaces.prefix(16).map(\.name)))
        #expect(network.allSatisfy { $0.kind == .counter && $0.temporality == .delta })
        #expect(Set(points.filter { $0.name == "system.disk.io" }.compactMap { $0.attributes["device"] }).count == 16)
        #expect(!points.contains { $0.name == "system.paging.usage" })
        let used = points.first { $0.name == "system.memory.utilization" }
        #expect(used?.value == 0.25 && used?.attributes == ["state": "used"])
        let root = points.filter { $0.name == "system.filesystem.usage" }.map {
            ($0.attributes["state"] ?? "", $0.value)
        }
        #expect(root.sorted { $0.0 < $1.0 }.map(\.1) == [40, 60])
        #expect(points.filter { $0.name == "system.cpu.utilization" }.map(\.value).reduce(0, +) == 1)
    }
}
