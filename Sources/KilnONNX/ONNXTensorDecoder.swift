import Foundation
import Kiln

/// Turns `TensorProto`s (initializers, `Constant` values, tensor attributes) into Kiln tensors.
///
/// Every size is checked against the dims before anything is allocated or copied, so a file that
/// claims a huge tensor but carries few bytes fails with an error instead of exhausting memory.
package struct ONNXTensorDecoder: Sendable {
    /// The folder external-data locations are relative to; nil when the model came from memory.
    package var externalData: ONNXExternalDataReader?

    package init(baseDirectory: URL?) {
        externalData = baseDirectory.map(ONNXExternalDataReader.init(baseDirectory:))
    }

    /// Decodes `proto`; `name` is used in errors (a tensor's own name may be empty, e.g. in attributes).
    package func tensor(_ proto: Onnx_TensorProto, name: String) throws(ONNXImportError) -> Tensor {
        guard proto.hasDataType, proto.dataType != 0 else {
            throw .invalidTensor(name: name, reason: "has no data_type")
        }
        guard let dtype = DType(onnxCode: Int(proto.dataType)) else {
            throw .unsupportedDataType(tensor: name, type: DType.onnxTypeName(Int(proto.dataType)))
        }
        guard !proto.hasSegment else {
            throw .unsupportedFeature("tensor '\(name)' is stored in segments")
        }
        let shape = proto.dims.map { Int($0) }
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw .invalidTensor(name: name, reason: "dims \(shape) include a negative size")
        }
        let byteCount: Int
        do {
            byteCount = try ShapeArithmetic.byteCount(shape, dtype: dtype)
        } catch {
            throw .invalidTensor(name: name, reason: "\(error)")
        }
        let typedFields = Self.typedFieldCounts(proto).filter { $0.count > 0 }

        if proto.hasDataLocation && proto.dataLocation == .external {
            guard !proto.hasRawData, typedFields.isEmpty else {
                throw .invalidTensor(name: name, reason: "is marked external but also carries data in the model")
            }
            guard let externalData else {
                throw .invalidExternalData(
                    tensor: name, reason: "the model was imported from memory without a base directory")
            }
            let bytes = try externalData.read(tensor: name, entries: proto.externalData, byteCount: byteCount)
            return try Self.tensor(name: name, dtype: dtype, shape: shape, rawBytes: bytes)
        }
        if proto.hasRawData {
            guard typedFields.isEmpty else {
                throw .invalidTensor(
                    name: name, reason: "has both raw_data and \(typedFields.map(\.field).joined(separator: ", "))")
            }
            guard proto.rawData.count == byteCount else {
                throw .invalidTensor(
                    name: name,
                    reason: "raw_data has \(proto.rawData.count) bytes, but \(dtype) dims \(shape) need \(byteCount)")
            }
            return try Self.tensor(name: name, dtype: dtype, shape: shape, rawBytes: proto.rawData)
        }
        return try typedTensor(proto, name: name, dtype: dtype, shape: shape, count: byteCount / dtype.byteSize,
                               presentFields: typedFields.map(\.field))
    }

    /// The tensor from the `*_data` field ONNX assigns to `dtype`. Narrow types travel in
    /// `int32_data` (float16 as its bit pattern), so each value is range-checked before narrowing.
    private func typedTensor(_ proto: Onnx_TensorProto, name: String, dtype: DType, shape: [Int], count: Int,
                             presentFields: [String]) throws(ONNXImportError) -> Tensor {
        let field = Self.dataField(for: dtype)
        let available: Int
        switch dtype {
        case .float32: available = proto.floatData.count
        case .int64: available = proto.int64Data.count
        case .int32, .int8, .uint8, .bool, .float16: available = proto.int32Data.count
        }
        guard available == count else {
            var reason = "\(field) has \(available) values, but \(dtype) dims \(shape) need \(count)"
            let misplaced = presentFields.filter { $0 != field }
            if !misplaced.isEmpty { reason += " (data found in \(misplaced.joined(separator: ", ")) instead)" }
            throw .invalidTensor(name: name, reason: reason)
        }
        do {
            switch dtype {
            case .float32: return try Tensor(shape: shape, scalars: proto.floatData)
            case .int64: return try Tensor(shape: shape, scalars: proto.int64Data)
            case .int32: return try Tensor(shape: shape, scalars: proto.int32Data)
            case .int8:
                return try Tensor(shape: shape, scalars: try Self.narrow(proto.int32Data, name: name, as: Int8.self))
            case .uint8:
                return try Tensor(shape: shape, scalars: try Self.narrow(proto.int32Data, name: name, as: UInt8.self))
            case .float16:
                let bits = try Self.narrow(proto.int32Data, name: name, as: UInt16.self)
                return try Tensor(shape: shape, scalars: bits.map(Float16.init(bitPattern:)))
            case .bool:
                return try Tensor(shape: shape, scalars: proto.int32Data.map { $0 != 0 })
            }
        } catch let error as ONNXImportError {
            throw error
        } catch {
            throw .invalidTensor(name: name, reason: "\(error)")
        }
    }

    private static func narrow<Narrow: FixedWidthInteger>(
        _ values: [Int32], name: String, as type: Narrow.Type
    ) throws(ONNXImportError) -> [Narrow] {
        var result: [Narrow] = []
        result.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            guard let narrowed = Narrow(exactly: value) else {
                throw .invalidTensor(
                    name: name, reason: "int32_data[\(index)] = \(value) does not fit in \(Narrow.self)")
            }
            result.append(narrowed)
        }
        return result
    }

    /// Copies little-endian element bytes into a tensor. Kiln only runs on little-endian hosts.
    private static func tensor(name: String, dtype: DType, shape: [Int], rawBytes: Data) throws(ONNXImportError)
        -> Tensor
    {
        do {
            return try rawBytes.withUnsafeBytes { try Tensor(dtype: dtype, shape: shape, bytes: $0) }
        } catch {
            throw .invalidTensor(name: name, reason: "\(error)")
        }
    }

    private static func dataField(for dtype: DType) -> String {
        switch dtype {
        case .float32: return "float_data"
        case .int64: return "int64_data"
        case .int32, .int8, .uint8, .bool, .float16: return "int32_data"
        }
    }

    private static func typedFieldCounts(_ proto: Onnx_TensorProto) -> [(field: String, count: Int)] {
        [("float_data", proto.floatData.count), ("int32_data", proto.int32Data.count),
         ("int64_data", proto.int64Data.count), ("string_data", proto.stringData.count),
         ("double_data", proto.doubleData.count), ("uint64_data", proto.uint64Data.count)]
    }
}
