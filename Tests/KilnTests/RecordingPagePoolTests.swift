import Kiln
import Testing

/// ``RecordingPagePool``: the recording run's large blocks, reused by size, writable.
@Suite struct RecordingPagePoolTests {
    @Test func blocksGivenBackAreReusedBySize() throws {
        let pool = RecordingPagePool()
        var lease: RecordingPagePool.Lease? = pool.lease(byteCount: 300_000)
        let address = try #require(lease).pages.bytes
        address.storeBytes(of: 42, as: Int.self)
        #expect(try #require(lease).pages.length % 4_096 == 0 && (try #require(lease).pages.length) >= 300_000)
        // Still held: a block comes back only when its last holder lets go.
        try withExtendedLifetime(lease) {
            let other = try #require(pool.lease(byteCount: 300_000))
            #expect(other.pages.bytes != address)
        }
        lease = nil
        // The same number of pages (300,000 and 301,000 bytes both round up to 74 of 4 KiB).
        let again = try #require(pool.lease(byteCount: 301_000))
        #expect(again.pages.bytes == address)
        let larger = try #require(pool.lease(byteCount: 600_000))
        #expect(larger.pages.bytes != address)
        #expect(pool.lease(byteCount: 0) == nil)
    }

    @Test func sessionsRecordOnPooledPagesAndStillMatch() throws {
        // A graph whose intermediates pass the pool's threshold: the recording run and the planned
        // runs after it must compute the same.
        var builder = GraphBuilder()
        let x = builder.input("x", .float32, [.fixed(256), .fixed(512)])
        let doubled = builder.node("Add", [x, x])
        builder.output(builder.node("Mul", [builder.node("Relu", [doubled]), x]), as: "y")
        let session = try InferenceSession(model: Model(graph: try builder.build()), options: .init(threads: 2))
        let input = PassTesting.random([256, 512], seed: 3)
        let values = try input.scalars(as: Float.self)
        let expected = values.map { max($0 + $0, 0) * $0 }
        for _ in 0..<3 {
            let output = try #require(try session.run(["x": input])["y"])
            #expect(try output.scalars(as: Float.self) == expected)
        }
    }
}
