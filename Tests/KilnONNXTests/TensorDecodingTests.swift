import Foundation
import Kiln
import KilnONNX
import Testing

@Suite struct TensorDecodingTests {
    typealias F = ONNXFixtures

    // MARK: raw_data, one test per Kiln dtype

    @Test func readsFloat32FromRawData() throws {
        let tensor = try F.decode(F.rawTensor("w", .float, dims: [2, 2], [1.5, -2, 0, 3.25] as [Float]))
        #expect(tensor.dtype == .float32)
        #expect(tensor.shape == [2, 2])
        #expect(try tensor.scalars(as: Float.self) == [1.5, -2, 0, 3.25])
    }

    @Test func readsFloat16FromRawData() throws {
        // 0x3C00 = 1.0, 0xC000 = -2.0, 0x3800 = 0.5 in IEEE binary16.
        let tensor = try F.decode(F.rawTensor("h", .float16, dims: [3], [0x3C00, 0xC000, 0x3800] as [UInt16]))
        #expect(tensor.dtype == .float16)
        #expect(tensor.floats() == [1, -2, 0.5])
    }

    @Test func readsInt64FromRawData() throws {
        let tensor = try F.decode(F.rawTensor("i", .int64, dims: [3], [Int64.min, -1, 1 << 40] as [Int64]))
        #expect(try tensor.scalars(as: Int64.self) == [Int64.min, -1, 1 << 40])
    }

    @Test func readsInt32FromRawData() throws {
        let tensor = try F.decode(F.rawTensor("i", .int32, dims: [2], [Int32.max, -7] as [Int32]))
        #expect(try tensor.scalars(as: Int32.self) == [Int32.max, -7])
    }

    @Test func readsInt8FromRawData() throws {
        let tensor = try F.decode(F.rawTensor("i", .int8, dims: [3], [-128, 0, 127] as [Int8]))
        #expect(try tensor.scalars(as: Int8.self) == [-128, 0, 127])
    }

    @Test func readsUInt8FromRawData() throws {
        let tensor = try F.decode(F.rawTensor("u", .uint8, dims: [1, 3], [0, 200, 255] as [UInt8]))
        #expect(tensor.shape == [1, 3])
        #expect(try tensor.scalars(as: UInt8.self) == [0, 200, 255])
    }

    @Test func readsBoolFromRawData() throws {
        let tensor = try F.decode(F.rawTensor("b", .bool, dims: [3], [1, 0, 1] as [UInt8]))
        #expect(try tensor.scalars(as: Bool.self) == [true, false, true])
    }

    @Test func readsScalarAndEmptyTensors() throws {
        let scalar = try F.decode(F.rawTensor("s", .float, dims: [], [42] as [Float]))
        #expect(scalar.shape == [])
        #expect(try scalar.scalars(as: Float.self) == [42])
        // An empty tensor may carry no data field at all.
        let empty = try F.decode(F.tensor("e", .int64, dims: [0, 5]))
        #expect(empty.shape == [0, 5])
        #expect(empty.count == 0)
    }

    // MARK: typed fields, one test per Kiln dtype

    @Test func readsFloat32FromFloatData() throws {
        let tensor = try F.decode(F.floatTensor("w", dims: [3], [0.25, -1, 8]))
        #expect(try tensor.scalars(as: Float.self) == [0.25, -1, 8])
    }

    @Test func readsInt64FromInt64Data() throws {
        var proto = F.tensor("i", .int64, dims: [2])
        proto.int64Data = [-5, 1 << 50]
        #expect(try F.decode(proto).scalars(as: Int64.self) == [-5, 1 << 50])
    }

    @Test func readsInt32FromInt32Data() throws {
        var proto = F.tensor("i", .int32, dims: [2])
        proto.int32Data = [Int32.min, 9]
        #expect(try F.decode(proto).scalars(as: Int32.self) == [Int32.min, 9])
    }

    @Test func readsNarrowTypesFromInt32Data() throws {
        var int8 = F.tensor("a", .int8, dims: [3])
        int8.int32Data = [-128, -1, 127]
        #expect(try F.decode(int8).scalars(as: Int8.self) == [-128, -1, 127])

        var uint8 = F.tensor("b", .uint8, dims: [2])
        uint8.int32Data = [0, 255]
        #expect(try F.decode(uint8).scalars(as: UInt8.self) == [0, 255])

        var bool = F.tensor("c", .bool, dims: [3])
        bool.int32Data = [0, 1, 0]
        #expect(try F.decode(bool).scalars(as: Bool.self) == [false, true, false])

        // float16 travels as its bit pattern: 0x3C00 = 1.0, 0xC400 = -4.0.
        var half = F.tensor("d", .float16, dims: [2])
        half.int32Data = [0x3C00, 0xC400]
        #expect(try F.decode(half).floats() == [1, -4])
    }

    @Test func rejectsInt32DataOutsideTheNarrowType() {
        var int8 = F.tensor("a", .int8, dims: [2])
        int8.int32Data = [5, 128]
        #expect(throws: ONNXImportError.invalidTensor(name: "a", reason: "int32_data[1] = 128 does not fit in Int8")) {
            try F.decode(int8)
        }
        var half = F.tensor("h", .float16, dims: [1])
        half.int32Data = [0x1_0000]
        #expect(importError { try F.decode(half) }?.caseName == "invalidTensor")
    }

    // MARK: sizes checked against dims

    @Test func rejectsRawDataShorterThanTheDims() {
        let proto = F.rawTensor("w", .float, dims: [2, 3], [1, 2, 3] as [Float])
        #expect(throws: ONNXImportError.invalidTensor(
            name: "w", reason: "raw_data has 12 bytes, but float32 dims [2, 3] need 24")) { try F.decode(proto) }
    }

    @Test func rejectsRawDataLongerThanTheDims() {
        let proto = F.rawTensor("w", .int64, dims: [1], [1, 2] as [Int64])
        #expect(importError { try F.decode(proto) }?.caseName == "invalidTensor")
    }

    @Test func rejectsDimsClaimingFarMoreDataThanPresent() {
        // 2^40 floats would be 4 TiB: the mismatch must be found before anything is allocated.
        let huge = F.rawTensor("huge", .float, dims: [1 << 20, 1 << 20], [1] as [Float])
        #expect(throws: ONNXImportError.invalidTensor(
            name: "huge", reason: "raw_data has 4 bytes, but float32 dims [1048576, 1048576] need 4398046511104")) {
            try F.decode(huge)
        }
        var typed = F.tensor("typed", .int64, dims: [1 << 40])
        typed.int64Data = [1, 2]
        #expect(importError { try F.decode(typed) }?.caseName == "invalidTensor")
    }

    @Test func rejectsDimsWhoseProductOverflows() {
        let proto = F.rawTensor("w", .float, dims: [1 << 62, 1 << 62], [1] as [Float])
        guard case .invalidTensor(let name, let reason)? = importError({ try F.decode(proto) }) else {
            Issue.record("expected invalidTensor")
            return
        }
        #expect(name == "w")
        #expect(reason.contains("overflow"))
    }

    @Test func rejectsNegativeDims() {
        let proto = F.rawTensor("w", .float, dims: [-1, 2], [1, 2] as [Float])
        #expect(throws: ONNXImportError.invalidTensor(name: "w", reason: "dims [-1, 2] include a negative size")) {
            try F.decode(proto)
        }
    }

    @Test func rejectsTypedDataOfTheWrongCount() {
        let proto = F.floatTensor("w", dims: [4], [1, 2, 3])
        #expect(throws: ONNXImportError.invalidTensor(
            name: "w", reason: "float_data has 3 values, but float32 dims [4] need 4")) { try F.decode(proto) }
    }

    @Test func namesTheFieldWhenDataIsInTheWrongOne() {
        var proto = F.tensor("w", .float, dims: [2])
        proto.int64Data = [1, 2]
        #expect(throws: ONNXImportError.invalidTensor(
            name: "w",
            reason: "float_data has 0 values, but float32 dims [2] need 2 (data found in int64_data instead)")) {
            try F.decode(proto)
        }
    }

    @Test func rejectsRawDataAlongsideTypedData() {
        var proto = F.rawTensor("w", .float, dims: [1], [1] as [Float])
        proto.floatData = [1]
        #expect(throws: ONNXImportError.invalidTensor(name: "w", reason: "has both raw_data and float_data")) {
            try F.decode(proto)
        }
    }

    @Test func rejectsNonEmptyTensorWithoutData() {
        #expect(importError { try F.decode(F.tensor("w", .float, dims: [3])) }?.caseName == "invalidTensor")
    }

    // MARK: data types

    @Test func namesTensorAndTypeForUnsupportedDataTypes() {
        var double = F.tensor("weights", .double, dims: [1])
        double.doubleData = [1]
        #expect(throws: ONNXImportError.unsupportedDataType(tensor: "weights", type: "DOUBLE")) { try F.decode(double) }
        var string = F.tensor("labels", .string, dims: [1])
        string.stringData = [Data("cat".utf8)]
        #expect(throws: ONNXImportError.unsupportedDataType(tensor: "labels", type: "STRING")) { try F.decode(string) }
        #expect(throws: ONNXImportError.unsupportedDataType(tensor: "b", type: "BFLOAT16")) {
            try F.decode(F.rawTensor("b", .bfloat16, dims: [1], [0] as [UInt16]))
        }
    }

    @Test func rejectsMissingDataType() {
        var proto = Onnx_TensorProto()
        proto.name = "w"
        proto.dims = [1]
        proto.floatData = [1]
        #expect(throws: ONNXImportError.invalidTensor(name: "w", reason: "has no data_type")) { try F.decode(proto) }
    }

    @Test func rejectsSegmentedTensors() {
        var proto = F.floatTensor("w", dims: [1], [1])
        proto.segment.begin = 0
        proto.segment.end = 1
        #expect(importError { try F.decode(proto) }?.caseName == "unsupportedFeature")
    }
}
