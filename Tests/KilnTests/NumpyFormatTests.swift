import Foundation
@testable import Kiln
import Testing

/// Bytes written by numpy 2.4 (Scripts/make-npy-test-vectors.py prints them); each comment is the
/// call that made them, with `f` an `io.BytesIO()`.
enum NumpyVectors {
    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    /// `np.save(f, np.array([[1.5, -2, 0], [3, 4.25, -0.0]], dtype='<f4'))`
    static let float32 = hex("934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2033292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a0000c03f000000c000000000000040400000884000000080")
    /// `np.save(f, np.array([1, -2.5, 65504], dtype='<f2'))`
    static let float16 = hex("934e554d5059010076007b276465736372273a20273c6632272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028332c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a003c00c1ff7b")
    /// `np.save(f, np.array(-7, dtype='<i8'))`
    static let int64 = hex("934e554d5059010076007b276465736372273a20273c6938272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028292c207d20202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200af9ffffffffffffff")
    /// `np.save(f, np.array([2147483647, -1], dtype='<i4'))`
    static let int32 = hex("934e554d5059010076007b276465736372273a20273c6934272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200affffff7fffffffff")
    /// `np.save(f, np.array([[-128], [127]], dtype=np.int8))`
    static let int8 = hex("934e554d5059010076007b276465736372273a20277c6931272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c2031292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a807f")
    /// `np.save(f, np.zeros((2, 0, 3), dtype=np.uint8))`
    static let uint8 = hex("934e554d5059010076007b276465736372273a20277c7531272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c20302c2033292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a")
    /// `np.save(f, np.array([True, False, True]))`
    static let bool = hex("934e554d5059010076007b276465736372273a20277c6231272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028332c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a010001")
    /// `write_array(f, np.array([1.5], dtype='<f4'), version=(2, 0))`
    static let version2 = hex("934e554d50590200740000007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028312c292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a0000c03f")
    /// `write_array(f, np.array([7], dtype='<i4'), version=(3, 0))`
    static let version3 = hex("934e554d50590300740000007b276465736372273a20273c6934272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028312c292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a07000000")
    /// `np.save(f, np.array([1, 2], dtype='>f4'))`
    static let bigEndian = hex("934e554d5059010076007b276465736372273a20273e6634272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028322c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a3f80000040000000")
    /// `np.save(f, np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3)))`
    static let fortran = hex("934e554d5059010076007b276465736372273a20273c6634272c2027666f727472616e5f6f72646572273a20547275652c20277368617065273a2028322c2033292c207d20202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a00000000000040400000803f00008040000000400000a040")
    /// `np.save(f, np.array([1.0]))`
    static let float64 = hex("934e554d5059010076007b276465736372273a20273c6638272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028312c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a000000000000f03f")
    /// `np.save(f, np.array(['ab']))`
    static let unicode = hex("934e554d5059010076007b276465736372273a20273c5532272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028312c292c207d2020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a6100000062000000")
    /// `np.save(f, np.array([None], dtype=object), allow_pickle=True)`
    static let object = hex("934e554d5059010076007b276465736372273a20277c4f272c2027666f727472616e5f6f72646572273a2046616c73652c20277368617065273a2028312c292c207d202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020202020200a8004958a000000000000008c166e756d70792e5f636f72652e6d756c74696172726179948c0c5f7265636f6e7374727563749493948c056e756d7079948c076e6461727261799493944b0085944301629487945294284b014b01859468038c0564747970659493948c024f3894898887945294284b038c017c944e4e4e4affffffff4affffffff4b3f749462895d944e617494622e")
}

@Suite struct NumpyFormatTests {
    func npyError(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> NpyError? {
        do {
            _ = try Tensor(npyData: bytes)
            Issue.record("the bytes were accepted", sourceLocation: sourceLocation)
        } catch let error as NpyError {
            return error
        } catch {
            Issue.record("expected an NpyError, got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    @Test func readsEveryDType() throws {
        let float32 = try Tensor(npyData: NumpyVectors.float32)
        #expect(float32.shape == [2, 3])
        #expect(try float32.scalars(as: Float.self).map(\.bitPattern) == ([1.5, -2, 0, 3, 4.25, -0.0] as [Float]).map(\.bitPattern))
        let float16 = try Tensor(npyData: NumpyVectors.float16)
        #expect(try float16.shape == [3] && float16.scalars(as: Float16.self) == [1, -2.5, 65504])
        let int64 = try Tensor(npyData: NumpyVectors.int64)
        #expect(try int64.shape == [] && int64.scalars(as: Int64.self) == [-7])
        let int32 = try Tensor(npyData: NumpyVectors.int32)
        #expect(try int32.scalars(as: Int32.self) == [Int32.max, -1])
        let int8 = try Tensor(npyData: NumpyVectors.int8)
        #expect(try int8.shape == [2, 1] && int8.scalars(as: Int8.self) == [-128, 127])
        let uint8 = try Tensor(npyData: NumpyVectors.uint8)
        #expect(uint8.dtype == .uint8 && uint8.shape == [2, 0, 3] && uint8.count == 0)
        let bool = try Tensor(npyData: NumpyVectors.bool)
        #expect(try bool.scalars(as: Bool.self) == [true, false, true])
    }

    @Test func readsFormatVersions2And3() throws {
        #expect(NumpyVectors.version2[6] == 2 && NumpyVectors.version3[6] == 3)
        #expect(try Tensor(npyData: NumpyVectors.version2).scalars(as: Float.self) == [1.5])
        #expect(try Tensor(npyData: NumpyVectors.version3).scalars(as: Int32.self) == [7])
    }

    /// Our writer lays files out exactly as `numpy.save` does.
    @Test func writesTheBytesNumpyWrites() throws {
        for vector in [NumpyVectors.float32, NumpyVectors.float16, NumpyVectors.int64, NumpyVectors.int32,
                       NumpyVectors.int8, NumpyVectors.uint8, NumpyVectors.bool] {
            #expect(try Tensor(npyData: vector).npyData() == vector)
        }
    }

    /// The layout checked by hand: magic, version 1.0, little-endian header length, dict, spaces for
    /// 21 digits of growth, padding to 64 and a newline, then the data.
    @Test func headerLayoutByHand() throws {
        let bytes = try Tensor(shape: [3], scalars: [1, 2, 3] as [Int32]).npyData()
        #expect(Array(bytes[0..<8]) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }"
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        #expect(headerLength == 128 - 10)
        #expect(String(decoding: bytes[10..<(10 + dict.count)], as: UTF8.self) == dict)
        #expect(bytes[10 + dict.count..<127].allSatisfy { $0 == 0x20 })
        #expect(bytes[127] == 0x0A)
        #expect(Array(bytes[128...]) == [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0])
    }

    @Test func parsesHeadersWrittenByOtherTools() throws {
        for dict in [
            "{'shape': (2,), 'fortran_order': False, 'descr': '<i4'}",
            "{\"descr\":\"<i4\",\"fortran_order\":False,\"shape\":(2L,)}",
            "  { 'descr' : '<i4' ,\n 'fortran_order' : False , 'shape' : ( 2 , ) , }  \n",
        ] {
            let header = Array(dict.utf8)
            let bytes = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.count), 0] + header + [5, 0, 0, 0, 6, 0, 0, 0]
            #expect(try Tensor(npyData: bytes).scalars(as: Int32.self) == [5, 6], "\(dict)")
        }
    }

    @Test func refusesWhatKilnCannotRead() {
        #expect(npyError(NumpyVectors.bigEndian) == .unsupportedDType(descr: ">f4", reason: "big-endian data is not supported"))
        #expect(npyError(NumpyVectors.fortran) == .fortranOrder)
        #expect(npyError(NumpyVectors.float64) == .unsupportedDType(descr: "<f8", reason: "float64: convert with a.astype(np.float32)"))
        #expect(npyError(NumpyVectors.unicode) == .unsupportedDType(descr: "<U2", reason: "unicode strings cannot be read"))
        #expect(npyError(NumpyVectors.object) == .unsupportedDType(descr: "|O", reason: "object arrays cannot be read"))
        #expect(npyError(Array("not numpy".utf8)) == .notNpy)
        var version = NumpyVectors.int32
        version[6] = 4
        #expect(npyError(version) == .unsupportedVersion(major: 4, minor: 0))
    }

    @Test func refusesWrongDataSizes() {
        let short = Array(NumpyVectors.float32.dropLast())
        #expect(npyError(short) == .truncated(what: "data of shape (2, 3) float32", needed: 24, available: 23))
        #expect(npyError(NumpyVectors.float32 + [0]) == .trailingBytes(count: 1))
    }

    @Test func truncationAtEveryByteIsAnError() {
        let bytes = NumpyVectors.int32
        for length in 0..<bytes.count { _ = npyError(Array(bytes[0..<length])) }
    }

    @Test(arguments: [
        ("{'descr': '<i4', 'fortran_order': False}", "key 'shape' is missing"),
        ("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "unexpected key 'extra'"),
        ("{'descr': '<i4', 'fortran_order': 0, 'shape': (1,)}", "key 'fortran_order' has the wrong type"),
        ("{'descr': '<i4', 'fortran_order': False, 'shape': [1]}", "key 'shape' has the wrong type"),
        ("{'descr': '<i4', 'fortran_order': False, 'shape': (1.5,)}", "expected ')'"),
        ("{'descr': '<i4", "unterminated string"),
        ("['descr']", "the header is not a dict"),
        ("{'descr': '<i4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "integer is too large"),
        ("{'descr': '<i4', 'fortran_order': False, 'shape': (1,)} x", "unexpected text after the dict"),
        (String(repeating: "(", count: 5000), "nesting is too deep"),
    ])
    func refusesMalformedHeaders(dict: String, reasonPart: String) {
        let header = Array(dict.utf8)
        let bytes = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 2, 0] + withUnsafeBytes(of: UInt32(header.count).littleEndian, Array.init) + header + [0, 0, 0, 0]
        guard case .malformedHeader(let reason) = npyError(bytes), reason.contains(reasonPart) else {
            Issue.record("\(dict.prefix(80)): expected a malformed header error mentioning '\(reasonPart)'")
            return
        }
    }

    @Test func refusesBadShapes() {
        for (shape, reason) in [("(-1,)", "negative"), ("(4294967296, 4294967296)", "overflows")] {
            let header = Array("{'descr': '<i4', 'fortran_order': False, 'shape': \(shape)}".utf8)
            let bytes = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.count), 0] + header
            guard case .invalidShape(_, let message) = npyError(bytes), message.contains(reason) else {
                Issue.record("shape \(shape) accepted or misreported")
                continue
            }
        }
    }

    /// A header over 65,535 bytes needs format 2.0 (4-byte length), as numpy does.
    @Test func hugeHeadersUseVersion2() throws {
        let tensor = try Tensor(zeros: .int8, shape: [Int](repeating: 1, count: 30_000))
        let bytes = tensor.npyData()
        #expect(bytes[6] == 2)
        #expect(bytes.count % 64 == 1)  // header padded to 64, then one data byte
        #expect(try Tensor(npyData: bytes).shape == tensor.shape)
    }

    @Test func fileRoundTrip() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-npy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("t.npy")
        let tensor = try Tensor(shape: [2, 2], scalars: [1, 2, 3, 4] as [Float16])
        try tensor.writeNpy(to: url)
        let loaded = try Tensor(npyContentsOf: url)
        #expect(try loaded.shape == [2, 2] && loaded.scalars(as: Float16.self) == [1, 2, 3, 4])
        #expect(throws: NpyError.self) { try Tensor(npyContentsOf: folder.appendingPathComponent("missing.npy")) }
    }
}
