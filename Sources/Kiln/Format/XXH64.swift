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

    /// The four accumulators of XXH64's stripe loop.
    private struct Lanes {
        var first, second, third, fourth: UInt64

        init(seed: UInt64) {
            first = seed &+ prime1 &+ prime2
            second = seed &+ prime2
            third = seed
            fourth = seed &- prime1
        }

        /// Takes in the 32-byte stripe at `offset`.
        @inline(__always)
        mutating func consume(_ bytes: UnsafeRawPointer, _ offset: Int) {
            first = round(first, load64(bytes, offset))
            second = round(second, load64(bytes, offset + 8))
            third = round(third, load64(bytes, offset + 16))
            fourth = round(fourth, load64(bytes, offset + 24))
        }

        var merged: UInt64 {
            var hash = rotateLeft(first, 1) &+ rotateLeft(second, 7) &+ rotateLeft(third, 12) &+ rotateLeft(fourth, 18)
            hash = mergeRound(hash, first)
            hash = mergeRound(hash, second)
            hash = mergeRound(hash, third)
            return mergeRound(hash, fourth)
        }
    }

    /// The XXH64 of `count` bytes at `bytes`.
    package static func hash(_ bytes: UnsafeRawPointer, count: Int, seed: UInt64 = 0) -> UInt64 {
        let stripeEnd = count & ~31
        guard stripeEnd > 0 else { return finish(seed &+ prime5, bytes, from: 0, count: count) }
        var lanes = Lanes(seed: seed)
        var offset = 0
        while offset < stripeEnd {
            lanes.consume(bytes, offset)
            offset += 32
        }
        return finish(lanes.merged, bytes, from: stripeEnd, count: count)
    }

    /// The XXH64s (seed 0) of `count` bytes at `first` and of `count` bytes at `second`, in one loop:
    /// the two sets of accumulators are independent, so the core overlaps their multiply chains
    /// (about 1.3x the throughput of hashing one after the other).
    package static func hashPair(_ first: UnsafeRawPointer, _ second: UnsafeRawPointer, count: Int) -> (UInt64, UInt64) {
        let stripeEnd = count & ~31
        guard stripeEnd > 0 else { return (hash(first, count: count), hash(second, count: count)) }
        var firstLanes = Lanes(seed: 0), secondLanes = Lanes(seed: 0)
        var offset = 0
        while offset < stripeEnd {
            firstLanes.consume(first, offset)
            secondLanes.consume(second, offset)
            offset += 32
        }
        return (finish(firstLanes.merged, first, from: stripeEnd, count: count),
                finish(secondLanes.merged, second, from: stripeEnd, count: count))
    }

    /// Folds in the length and the bytes after the last whole stripe, then avalanches.
    private static func finish(_ accumulated: UInt64, _ bytes: UnsafeRawPointer, from start: Int, count: Int) -> UInt64 {
        var hash = accumulated &+ UInt64(truncatingIfNeeded: count)
        var offset = start
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
    /// 1 MiB chunk. Chunks hash independently, so sections of two chunks or more are hashed on every
    /// core (``ParallelChecksum``).
    package static func chunkedHash(_ buffer: UnsafeRawBufferPointer) -> UInt64 {
        let chunkCount = (buffer.count + chunkSize - 1) / chunkSize
        if chunkCount >= 2 && ProcessInfo.processInfo.activeProcessorCount > 1 {
            return ParallelChecksum(buffer).wait()
        }
        var chunkHashes = [UInt64](repeating: 0, count: chunkCount)
        if let base = buffer.baseAddress, chunkCount > 0 {
            chunkHashes.withUnsafeMutableBufferPointer { hashes in
                hashChunks(base, total: buffer.count, into: hashes.baseAddress!, chunks: 0..<chunkCount)
            }
        }
        return chunkHashes.withUnsafeBytes { hash($0) }
    }

    /// The XXH64 of each 1 MiB chunk in `chunks` of the `total` bytes at `base`, little-endian, into
    /// `hashes[chunk]`: the first step of ``chunkedHash(_:)``, whose result is the XXH64 of all the
    /// chunk hashes' bytes.
    package static func hashChunks(_ base: UnsafeRawPointer, total: Int, into hashes: UnsafeMutablePointer<UInt64>,
                                   chunks: Range<Int>) {
        // Whole chunks go two at a time through the interleaved loop; a last odd or short one alone.
        var chunk = chunks.lowerBound
        while chunk + 1 < chunks.upperBound && (chunk + 2) * chunkSize <= total {
            let start = chunk * chunkSize
            let (first, second) = hashPair(base + start, base + start + chunkSize, count: chunkSize)
            hashes[chunk] = first.littleEndian
            hashes[chunk + 1] = second.littleEndian
            chunk += 2
        }
        while chunk < chunks.upperBound {
            let start = chunk * chunkSize
            hashes[chunk] = hash(base + start, count: min(chunkSize, total - start)).littleEndian
            chunk += 1
        }
    }
}
