import Foundation
import HTTPTypes
import Hummingbird
import Kiln

/// The binary tensor data extension: a body that is a JSON object followed by raw little-endian
/// tensor bytes, with `Inference-Header-Content-Length` giving the JSON's length.
enum BinaryTensorData {
    static let headerLengthField = HTTPField.Name("Inference-Header-Content-Length")!

    /// Splits a request body into its JSON part and the binary part after it (empty when the
    /// header is absent).
    static func split(_ body: ByteBuffer, headers: HTTPFields) throws -> (json: ArraySlice<UInt8>, binary: ArraySlice<UInt8>) {
        let bytes = body.getBytes(at: body.readerIndex, length: body.readableBytes) ?? []
        guard let value = headers[headerLengthField] else { return (bytes[...], []) }
        guard let length = Int(value), length >= 0, length <= bytes.count else {
            throw InferenceHTTPError.badRequest(
                "Inference-Header-Content-Length '\(value)' must be a number between 0 and the body's \(bytes.count) bytes")
        }
        return (bytes[..<length], bytes[length...])
    }

    /// Turns the binary inputs into tensors, taking their bytes from `binary` in the order the
    /// inputs are listed; every byte of `binary` must belong to exactly one input.
    static func attach(_ binary: ArraySlice<UInt8>, to inputs: inout [RequestInput]) throws {
        var offset = binary.startIndex
        for index in inputs.indices {
            guard let size = inputs[index].binaryDataSize else { continue }
            let input = inputs[index]
            let needed = try ShapeArithmetic.byteCount(input.shape, dtype: input.dtype)
            guard size == needed else {
                throw RequestError("input '\(input.name)': binary_data_size is \(size) bytes, shape \(input.shape) of \(InferenceDatatype.name(of: input.dtype)) needs \(needed)")
            }
            guard size <= binary.endIndex - offset else {
                throw RequestError("input '\(input.name)': the body ends before its \(size) bytes of binary data")
            }
            let slice = binary[offset..<(offset + size)]
            inputs[index].tensor = try slice.withUnsafeBytes { bytes in
                try Tensor(dtype: input.dtype, shape: input.shape, bytes: bytes)
            }
            offset += size
        }
        guard offset == binary.endIndex else {
            throw RequestError("the body has \(binary.endIndex - offset) bytes of binary data that no input claims")
        }
    }

    /// A response body of the JSON header followed by the raw bytes of `tensors`, in order.
    static func responseBody(header: Data, tensors: [Tensor]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(header.count + tensors.reduce(0) { $0 + $1.byteCount })
        buffer.writeBytes(header)
        for tensor in tensors {
            tensor.withUnsafeBytes { buffer.writeBytes($0) }
        }
        return buffer
    }
}
