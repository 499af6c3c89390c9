import Kiln
import Testing

/// Kernel temporaries up to 8 KiB come from the calling thread's stack (where
/// `withUnsafeTemporaryAllocation` would go to the heap for 64-byte-aligned vectors or more than
/// 1 KiB), larger ones from the heap; both are aligned as vectors and writable throughout.
@Suite struct StackScratchTests {
    /// Whether `pointer` lies within 32 KiB of a local of the caller's frame: on its stack.
    private static func isNearStack(_ pointer: UnsafeRawPointer) -> Bool {
        var local = 0
        return withUnsafeMutablePointer(to: &local) { local in
            abs(Int(bitPattern: UnsafeRawPointer(local)) - Int(bitPattern: pointer)) < 32 * 1_024
        }
    }

    @Test(arguments: [1, 24, 42, 128, 129, 1_000])
    func vectorsAreAlignedWritableAndOnTheStackWhileTheyFit(count: Int) {
        let onStack = StackScratch.withVectors(count) { vectors in
            #expect(Int(bitPattern: vectors) % MemoryLayout<SIMD16<Float>>.alignment == 0)
            for index in 0..<count { vectors[index] = SIMD16<Float>(repeating: Float(index)) }
            #expect((0..<count).allSatisfy { vectors[$0][15] == Float($0) })
            return Self.isNearStack(vectors)
        }
        #expect(onStack == (count * 64 <= StackScratch.byteCapacity), "\(count) vectors")
    }

    @Test(arguments: [0, 1, 384, 696, 2_048, 2_049, 10_000])
    func floatsAreAlignedWritableAndOnTheStackWhileTheyFit(count: Int) {
        let onStack = StackScratch.withFloats(count) { floats in
            #expect(Int(bitPattern: floats) % MemoryLayout<SIMD16<Float>>.alignment == 0)
            for index in 0..<count { floats[index] = Float(index) }
            #expect((0..<count).allSatisfy { floats[$0] == Float($0) })
            return Self.isNearStack(floats)
        }
        #expect(onStack == (count * 4 <= StackScratch.byteCapacity), "\(count) floats")
    }
}
