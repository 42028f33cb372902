import APMCore
import Foundation

extension HostSample {
    /// Devices and interfaces reported per reading at most (by name): a host with hundreds of container
    /// interfaces would otherwise fill the app's series cap.
    static let maxDevices = 16

    /// The reading as metric points named as the OpenTelemetry host metrics semantic conventions name them, so
    /// that they land beside what an OpenTelemetry collector's host metrics receiver sends. Increases over the
    /// interval are delta counters; levels are gauges.
    func metricPoints() -> [MetricPoint] {
        let time = Int64(timestamp * 1e9)
        var points: [MetricPoint] = []
        func gauge(_ name: String, _ unit: String, _ value: Double, _ attributes: [String: String] = [:]) {
            points.append(
                MetricPoint(
                    name: name,
                    unit: unit,
                    kind: .gauge,
                    attributes: attributes,
                    timeUnixNano: time,
                    value: value
                )
            )
        }
        func counter(_ name: String, _ unit: String, _ value: UInt64, _ attributes: [String: String]) {
            points.append(
                MetricPoint(
                    name: name,
                    unit: unit,
                    kind: .counter,
                    temporality: .delta,
                    attributes: attributes,
                    timeUnixNano: time,
                    value: Double(value)
                )
            )
        }
        for (state, share) in cpuUtilization.sorted(by: { $0.key < $1.key }) {
            gauge("system.cpu.utilization", "1", share, ["state": state])
        }
        gauge("system.cpu.load_average.1m", "{thread}", load.one)
        gauge("system.cpu.load_average.5m", "{thread}", load.five)
        gauge("system.cpu.load_average.15m", "{thread}", load.fifteen)
        if memory.total > 0 {
            gauge("system.memory.limit", "By", Double(memory.total))
            gauge("system.memory.usage", "By", Double(memory.used), ["state": "used"])
            gauge("system.memory.utilization", "1", Double(memory.used) / Double(memory.total), ["state": "used"])
            gauge("system.linux.memory.available", "By", Double(memory.available))
        }
        if memory.swapTotal > 0 {
            gauge("system.paging.usage", "By", Double(memory.swapUsed), ["state": "used"])
            gauge("system.paging.usage", "By", Double(memory.swapFree), ["state": "free"])
        }
        for filesystem in filesystems where filesystem.total > 0 {
            let attributes = ["mountpoint": filesystem.mountpoint, "device": filesystem.device]
            gauge(
                "system.filesystem.usage",
                "By",
                Double(filesystem.used),
                attributes.merging(["state": "used"]) { $1 }
            )
            gauge(
                "system.filesystem.usage",
                "By",
                Double(filesystem.free),
                attributes.merging(["state": "free"]) { $1 }
            )
            gauge("system.filesystem.utilization", "1", Double(filesystem.used) / Double(filesystem.total), attributes)
        }
        for disk in disks.sorted(by: { $0.name < $1.name }).prefix(Self.maxDevices) {
            counter("system.disk.io", "By", disk.readBytes, ["device": disk.name, "direction": "read"])
            counter("system.disk.io", "By", disk.writtenBytes, ["device": disk.name, "direction": "write"])
        }
        for interface in interfaces.sorted(by: { $0.name < $1.name }).prefix(Self.maxDevices) {
            let receive = ["device": interface.name, "direction": "receive"]
            let transmit = ["device": interface.name, "direction": "transmit"]
            counter("system.network.io", "By", interface.receivedBytes, receive)
            counter("system.network.io", "By", interface.sentBytes, transmit)
            counter("system.network.packets", "{packet}", interface.receivedPackets, receive)
            counter("system.network.packets", "{packet}", interface.sentPackets, transmit)
            counter("system.network.errors", "{error}", interface.receiveErrors, receive)
            counter("system.network.errors", "{error}", interface.sendErrors, transmit)
        }
        return points
    }
}

extension ProcessSample {
    /// The program's sample as metric points named as the OpenTelemetry process conventions name them (so that its
    /// app's Metrics page charts them beside the SDK's runtime metrics): CPU as a share of all the host's cores,
    /// resident memory, threads and open files, with the process's id as an attribute.
    func metricPoints(pid: Int32, cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> [MetricPoint] {
        let time = Int64(timestamp * 1e9)
        let attributes = ["process.pid": String(pid)]
        func gauge(_ name: String, _ unit: String, _ value: Double) -> MetricPoint {
            MetricPoint(name: name, unit: unit, kind: .gauge, attributes: attributes, timeUnixNano: time, value: value)
        }
        return [
            gauge("process.cpu.utilization", "1", cpuPercent / 100 / Double(max(cores, 1))),
            gauge("process.memory.usage", "By", Double(residentBytes)),
            gauge("process.thread.count", "{thread}", Double(threads)),
            gauge("process.open_file_descriptor.count", "{file_descriptor}", Double(openFiles)),
        ]
    }
}
