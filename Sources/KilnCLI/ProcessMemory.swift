import Foundation

/// Resident memory of this process from `/proc/self/status` (Linux), in MiB.
///
/// Anonymous and file-backed residency are reported apart: weights used in place from a mapped
/// `.kiln` file show up as file-backed pages (shared with the page cache), copies as anonymous ones.
struct ProcessMemory: Encodable {
    let residentMiB: Double
    let anonymousMiB: Double
    let fileBackedMiB: Double
    let peakResidentMiB: Double

    enum CodingKeys: String, CodingKey {
        case residentMiB = "rss_mib"
        case anonymousMiB = "rss_anon_mib"
        case fileBackedMiB = "rss_file_mib"
        case peakResidentMiB = "peak_rss_mib"
    }

    /// Current figures, or nil where `/proc` is not available.
    static func current() -> ProcessMemory? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        var fields: [String: Double] = [:]
        for line in status.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let number = parts[1].split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Double($0) }
            if let number { fields[String(parts[0])] = number / 1024 }  // kB -> MiB
        }
        guard let resident = fields["VmRSS"] else { return nil }
        return ProcessMemory(residentMiB: resident, anonymousMiB: fields["RssAnon"] ?? 0,
                             fileBackedMiB: fields["RssFile"] ?? 0, peakResidentMiB: fields["VmHWM"] ?? resident)
    }
}
