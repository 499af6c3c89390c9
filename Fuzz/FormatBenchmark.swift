// Measures checksum speed and model load time in an optimized build:
// `Scripts/fuzz-reader.sh --benchmark` (compiled with -O with the Kiln sources; not part of the package).
import Foundation

@main
struct FormatBenchmark {
    static func median(_ runs: Int, _ body: () throws -> Void) rethrows -> Double {
        var times: [Double] = []
        for _ in 0..<runs {
            let start = ContinuousClock.now
            try body()
            let elapsed = ContinuousClock.now - start
            times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        return times.sorted()[runs / 2]
    }

    static func main() throws {
        let megabytes = 100
        let count = megabytes << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 64)
        defer { buffer.deallocate() }
        for index in 0..<count { buffer[index] = UInt8(truncatingIfNeeded: index &* 2_654_435_761 >> 7) }
        let bytes = UnsafeRawBufferPointer(buffer)
        var sink: UInt64 = 0
        let single = median(7) { sink ^= XXH64.hash(bytes) }
        let chunked = median(7) { sink ^= XXH64.chunkedHash(bytes) }
        // The same work on 1 MiB that stays in L2: the hash's own speed, without DRAM in the way.
        let small = UnsafeRawBufferPointer(rebasing: bytes[0..<(1 << 20)])
        let cached = median(7) { for round in 0..<100 { sink ^= XXH64.hash(small, seed: UInt64(round) &+ sink) } }
        let gigabytes = Double(count) / 1e9
        print(String(format: "XXH64, one thread, 1 MiB in cache x 100: %.1f ms = %.2f GB/s", cached * 1e3, gigabytes / cached))
        print(String(format: "XXH64, one thread, %d MiB: %.1f ms = %.2f GB/s", megabytes, single * 1e3, gigabytes / single))
        print(String(format: "section checksum (1 MiB chunks, %d threads): %.1f ms = %.2f GB/s",
                     ProcessInfo.processInfo.activeProcessorCount, chunked * 1e3, gigabytes / chunked))

        // A model with 100 MiB of weights in 25 tensors, written and loaded back (file in page cache).
        var builder = GraphBuilder(name: "bench")
        let x = builder.input("x", .float32, [4])
        builder.output(builder.node("Relu", [x]), as: "y")
        let perTensor = count / 4 / 25
        for index in 0..<25 {
            let weight = try Tensor(zeros: .float32, shape: [perTensor])
            builder.output(builder.node("Identity", [builder.constant(weight, name: "w\(index)")]), as: "out\(index)")
        }
        let model = try Model(graph: builder.build())
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-bench-\(getpid()).kiln")
        defer { try? FileManager.default.removeItem(at: url) }
        let write = try median(3) { try model.write(to: url) }
        let load = try median(7) { sink ^= UInt64(try Model(contentsOf: url).graph.initializers.count) }
        print(String(format: "write %d MiB model: %.1f ms; load (mmap + verify + decode + validate): %.1f ms", megabytes, write * 1e3, load * 1e3))
        if sink == 42 { print("") }
    }
}
