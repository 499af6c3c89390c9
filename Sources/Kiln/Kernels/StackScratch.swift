/// Scratch space on the calling thread's stack for a kernel's per-call temporaries (a row of
/// padded input, a tile's transform, a block of output).
///
/// `withUnsafeTemporaryAllocation` uses the stack only for up to 1 KiB of elements aligned to at
/// most 16 bytes; on Linux anything larger, and `SIMD16<Float>` in AVX-512 builds (aligned to 64
/// bytes there), comes from the heap. Counted with a malloc-counting preload
/// (`Scripts/count-mallocs.sh`), that was 972 heap allocations (1.5 MB) per steady-state ResNet-50
/// run in the direct kernel's row buffer, and 58 (120 KB) in the channels-last Winograd
/// transforms: intermediate data on the heap, which a planned run must not have. Up to
/// ``byteCapacity`` bytes live in a fixed-size local instead (zeroed on entry, as Swift initializes
/// every local: about 100 ns), and only larger requests go to the heap.
package enum StackScratch {
    package typealias Vector = SIMD16<Float>
    private typealias Eight = (Vector, Vector, Vector, Vector, Vector, Vector, Vector, Vector)
    /// 128 vectors.
    private typealias Block = (Eight, Eight, Eight, Eight, Eight, Eight, Eight, Eight,
                               Eight, Eight, Eight, Eight, Eight, Eight, Eight, Eight)

    /// Bytes a call gets on the stack: 8 KiB, enough for the widest rows the kernels ask for on
    /// ImageNet-sized models (12 rows of 114 floats for Winograd F(4x4) at 112x112).
    package static let byteCapacity = MemoryLayout<Block>.size

    /// `count` uninitialized vectors (aligned as `SIMD16<Float>`), valid while `body` runs. A count
    /// of 0 or 1 gets a single vector, without zeroing the whole block: for a caller that needs the
    /// space only sometimes (the direct kernel's narrower last group).
    @inline(__always)
    package static func withVectors<Result>(
        _ count: Int, _ body: (UnsafeMutablePointer<Vector>) throws -> Result
    ) rethrows -> Result {
        if count <= 1 {
            var single = Vector()
            return try withUnsafeMutablePointer(to: &single) { try body($0) }
        }
        let byteCount = count * MemoryLayout<Vector>.stride
        guard byteCount <= byteCapacity else {
            let heap = UnsafeMutablePointer<Vector>.allocate(capacity: count)
            defer { heap.deallocate() }
            return try body(heap)
        }
        let zero = Vector()
        let eight: Eight = (zero, zero, zero, zero, zero, zero, zero, zero)
        var block: Block = (eight, eight, eight, eight, eight, eight, eight, eight,
                            eight, eight, eight, eight, eight, eight, eight, eight)
        return try withUnsafeMutableBytes(of: &block) { raw in
            try body(raw.baseAddress!.bindMemory(to: Vector.self, capacity: count))
        }
    }

    /// `count` uninitialized floats (aligned as `SIMD16<Float>`), valid while `body` runs.
    @inline(__always)
    package static func withFloats<Result>(
        _ count: Int, _ body: (UnsafeMutablePointer<Float>) throws -> Result
    ) rethrows -> Result {
        let lanes = Vector.scalarCount
        return try withVectors((count + lanes - 1) / lanes) { vectors in
            try body(UnsafeMutableRawPointer(vectors).bindMemory(to: Float.self, capacity: max(1, count)))
        }
    }
}
