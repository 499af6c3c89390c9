@testable import Kiln
import Testing

/// XXH64 against the reference implementation. Expected values: Scripts/make-xxh64-test-vectors.py
/// (the `xxhash` package, bindings to the reference C code); the first three are also published in
/// xxHash's documentation.
@Suite struct FormatChecksumTests {
    static func pattern(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    }

    @Test func matchesPublishedStringVectors() {
        #expect(XXH64.hash(Array("".utf8)) == 0xEF46_DB37_51D8_E999)
        #expect(XXH64.hash(Array("a".utf8)) == 0xD24E_C4F1_A98C_6E5B)
        #expect(XXH64.hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        #expect(XXH64.hash(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x0B24_2D36_1FDA_71BC)
    }

    /// Lengths around the 4-, 8- and 32-byte steps of the algorithm, with and without a seed.
    @Test(arguments: [
        (0, 0xEF46DB3751D8E999, 0x6EC6D05F61C7E7A7),
        (1, 0xA96C7F0CE858BBB7, 0x0C810166B30122A5),
        (3, 0x56E6957632A487F9, 0x45163CDC31E15BE1),
        (4, 0xC60D15B1E3FF8F04, 0xB000BCF3F8BCAEFE),
        (7, 0xAFBEFC3D6C6F9A8E, 0xE10F33AF8C4758A3),
        (8, 0x3DA5C7AA269683E0, 0xCB4A80ECC7A094C6),
        (9, 0x4B17A9BA9E215C09, 0xD98EEA92DAACE6DB),
        (31, 0x4A74F3A1A39AD4A1, 0x659EC2B1252D56F5),
        (32, 0x8D57D6A4671CC43D, 0xF113D2457128CF6D),
        (33, 0x62C9FD21ED857664, 0x84575B860242FE41),
        (63, 0x5C320A0D2707057F, 0x355CC1872A486C6E),
        (64, 0x7BBABBC45729D17E, 0xEA2D5E8A98BEC153),
        (100, 0xEFA0AD2D3E70C151, 0xE10CFEF3A9A0A5C5),
        (1000, 0x99594F4828043D35, 0xD79C60B94F81CBF0),
    ] as [(Int, UInt64, UInt64)])
    func matchesReferenceAtEveryTailLength(count: Int, unseeded: UInt64, seeded: UInt64) {
        let bytes = Self.pattern(count)
        #expect(XXH64.hash(bytes) == unseeded)
        #expect(XXH64.hash(bytes, seed: 0x9E37_79B1_85EB_CA87) == seeded)
    }

    /// Unaligned starts must not change the result (the reader hashes sections at any offset).
    @Test func hashIsIndependentOfAlignment() {
        let expected: UInt64 = 0x9959_4F48_2804_3D35
        for shift in 0..<8 {
            let shifted = [UInt8](repeating: 0xAA, count: shift) + Self.pattern(1000)
            shifted.withUnsafeBytes { buffer in
                #expect(XXH64.hash(UnsafeRawBufferPointer(rebasing: buffer[shift...])) == expected)
            }
        }
    }

    /// The interleaved two-buffer loop gives each buffer's own XXH64, at every tail length.
    @Test func hashPairMatchesSingleHashes() {
        let bytes = Self.pattern(2000)
        for count in [0, 1, 8, 31, 32, 33, 100, 999] {
            bytes.withUnsafeBytes { buffer in
                let first = buffer.baseAddress!, second = buffer.baseAddress! + 1000
                let (firstHash, secondHash) = XXH64.hashPair(first, second, count: count)
                #expect(firstHash == XXH64.hash(first, count: count))
                #expect(secondHash == XXH64.hash(second, count: count))
            }
        }
    }

    /// The section checksum (hash of per-MiB chunk hashes), including a partial last chunk and the
    /// multi-chunk parallel path.
    @Test(arguments: [
        (0, 0xEF46DB3751D8E999),
        (5, 0xDF9BB0243FF5F65B),
        (1_048_576, 0xF75253F6175E9A78),
        (2_621_443, 0x4B96F6AB70C4EB85),
        (5_242_887, 0x73C7A4D3D06472C4),
    ] as [(Int, UInt64)])
    func chunkedHashMatchesReference(count: Int, expected: UInt64) {
        let bytes = Self.pattern(count)
        #expect(bytes.withUnsafeBytes { XXH64.chunkedHash($0) } == expected)
    }
}
