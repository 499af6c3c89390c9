import Dispatch
import Foundation

/// XXH64, the 64-bit xxHash (public algorithm by Yann Collet, spec in xxHash's `doc/xxhash_spec.md`),
/// written from the specification: fast enough to verify a 100 MB model file at load.
package enum XXH64 {
    private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let prime4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let prime5: UInt64 = 0x27D4_EB2F_1656_67C5

    @inline(__always)
    private static func rotateLeft(_ value: UInt64, _ amount: UInt64) -> UInt64 {
        (value &<< amount) | (value &>> (64 &- amount))
    }

    @inline(__always)
    private static func round(_ accumulator: UInt64, _ lane: UInt64) -> UInt64 {
        rotateLeft(accumulator &+ lane &* prime2, 31) &* prime1
    }

    @inline(__always)
    private static func mergeRound(_ accumulator: UInt64, _ lane: UInt64) -> UInt64 {
        (accumulator ^ round(0, lane)) &* prime1 &+ prime4
    }

    @inline(__always)
    private static func load64(_ pointer: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: pointer.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The XXH64 of `count` bytes at `bytes`.
    package static func hash(_ bytes: UnsafeRawPointer, count: Int, seed: UInt64 = 0) -> UInt64 {
        var offset = 0
        var hash: UInt64
        if count >= 32 {
            var lane1 = seed &+ prime1 &+ prime2
            var lane2 = seed &+ prime2
            var lane3 = seed
            var lane4 = seed &- prime1
            let stripeEnd = count & ~31
            while offset < stripeEnd {
                lane1 = round(lane1, load64(bytes, offset))
                lane2 = round(lane2, load64(bytes, offset + 8))
                lane3 = round(lane3, load64(bytes, offset + 16))
                lane4 = round(lane4, load64(bytes, offset + 24))
                offset += 32
            }
            hash = rotateLeft(lane1, 1) &+ rotateLeft(lane2, 7) &+ rotateLeft(lane3, 12) &+ rotateLeft(lane4, 18)
            hash = mergeRound(hash, lane1)
            hash = mergeRound(hash, lane2)
            hash = mergeRound(hash, lane3)
            hash = mergeRound(hash, lane4)
        } else {
            hash = seed &+ prime5
        }
        hash = hash &+ UInt64(truncatingIfNeeded: count)
        while count - offset >= 8 {
            hash ^= round(0, load64(bytes, offset))
            hash = rotateLeft(hash, 27) &* prime1 &+ prime4
            offset += 8
        }
        if count - offset >= 4 {
            let word = UInt64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            hash ^= word &* prime1
            hash = rotateLeft(hash, 23) &* prime2 &+ prime3
            offset += 4
        }
        while offset < count {
            hash ^= UInt64(bytes.load(fromByteOffset: offset, as: UInt8.self)) &* prime5
            hash = rotateLeft(hash, 11) &* prime1
            offset += 1
        }
        hash ^= hash &>> 33
        hash = hash &* prime2
        hash ^= hash &>> 29
        hash = hash &* prime3
        hash ^= hash &>> 32
        return hash
    }

    /// The XXH64 of a byte buffer.
    package static func hash(_ buffer: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        guard let base = buffer.baseAddress else {
            return withUnsafeBytes(of: 0 as UInt8) { hash($0.baseAddress!, count: 0, seed: seed) }
        }
        return hash(base, count: buffer.count, seed: seed)
    }

    /// The XXH64 of a byte array.
    package static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    /// Chunk size of ``chunkedHash(_:)``; part of the `.kiln` format (see Docs/FORMAT.md).
    package static let chunkSize = 1 << 20

    /// The `.kiln` section checksum: XXH64 (seed 0) of the little-endian XXH64s (seed 0) of each
    /// 1 MiB chunk. Chunks hash independently, so large sections are verified on every core.
    package static func chunkedHash(_ buffer: UnsafeRawBufferPointer) -> UInt64 {
        let chunkCount = (buffer.count + chunkSize - 1) / chunkSize
        var chunkHashes = [UInt64](repeating: 0, count: chunkCount)
        if let base = buffer.baseAddress, chunkCount > 0 {
            let total = buffer.count
            chunkHashes.withUnsafeMutableBufferPointer { hashes in
                let workers = min(chunkCount, ProcessInfo.processInfo.activeProcessorCount)
                if workers <= 1 {
                    hashChunks(base, total: total, into: hashes.baseAddress!, chunks: 0..<chunkCount)
                    return
                }
                // Workers write disjoint slots of `hashes`, and concurrentPerform returns only when all
                // are done, so sharing the pointers is sound.
                let input = UncheckedSendable(base)
                let output = UncheckedSendable(hashes.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    // A contiguous run of chunks per worker keeps each thread streaming through memory.
                    let chunks = (chunkCount * worker / workers)..<(chunkCount * (worker + 1) / workers)
                    hashChunks(input.value, total: total, into: output.value, chunks: chunks)
                }
            }
        }
        return chunkHashes.withUnsafeBytes { hash($0) }
    }

    private static func hashChunks(_ base: UnsafeRawPointer, total: Int, into hashes: UnsafeMutablePointer<UInt64>,
                                   chunks: Range<Int>) {
        for chunk in chunks {
            let start = chunk * chunkSize
            hashes[chunk] = hash(base + start, count: min(chunkSize, total - start)).littleEndian
        }
    }
}
