import Kiln

/// Reads the `data` of one JSON request input, flat (`[1, 2, 3, 4]`) or nested like the shape
/// (`[[1, 2], [3, 4]]`), straight into typed storage of the input's dtype.
///
/// The caller has already checked that the shape's element count is small enough for the request
/// body to hold, so the storage reserved here is bounded by the body size; every array is checked
/// against the shape before its elements are read, and no more than the shape's count is ever read.
enum TensorDataDecoding {
    /// Decodes `data` of `dtype` and `shape` (whose element count is `count`) from `container[key]`.
    static func decode<Key: CodingKey>(
        _ container: KeyedDecodingContainer<Key>, forKey key: Key, input: String, dtype: DType, shape: [Int],
        count: Int
    ) throws -> Tensor {
        switch dtype {
        case .float32:
            let values = try read(container, key, input, shape, count) { try $0.decode(Float.self) }
            return try Tensor(shape: shape, scalars: values)
        case .float16:
            let values = try read(container, key, input, shape, count) { Float16(try $0.decode(Float.self)) }
            return try Tensor(shape: shape, scalars: values)
        case .int64:
            let values = try read(container, key, input, shape, count) { try $0.decode(Int64.self) }
            return try Tensor(shape: shape, scalars: values)
        case .int32:
            let values = try read(container, key, input, shape, count) { try narrow($0.decode(Int64.self), Int32.self, input) }
            return try Tensor(shape: shape, scalars: values)
        case .int8:
            let values = try read(container, key, input, shape, count) { try narrow($0.decode(Int64.self), Int8.self, input) }
            return try Tensor(shape: shape, scalars: values)
        case .uint8:
            let values = try read(container, key, input, shape, count) { try narrow($0.decode(Int64.self), UInt8.self, input) }
            return try Tensor(shape: shape, scalars: values)
        case .bool:
            let values = try read(container, key, input, shape, count) { try $0.decode(Bool.self) }
            return try Tensor(shape: shape, scalars: values)
        }
    }

    private static func narrow<Target: FixedWidthInteger>(_ value: Int64, _ type: Target.Type, _ input: String) throws -> Target {
        guard let narrowed = Target(exactly: value) else {
            throw RequestError("input '\(input)': value \(value) is out of range for its datatype")
        }
        return narrowed
    }

    private typealias Reader<Scalar> = (inout any UnkeyedDecodingContainer) throws -> Scalar

    private static func read<Key: CodingKey, Scalar>(
        _ container: KeyedDecodingContainer<Key>, _ key: Key, _ input: String, _ shape: [Int], _ count: Int,
        _ readScalar: Reader<Scalar>
    ) throws -> [Scalar] {
        var values: [Scalar] = []
        values.reserveCapacity(count)
        guard var array = try? container.nestedUnkeyedContainer(forKey: key) else {
            throw RequestError("input '\(input)': 'data' must be an array of \(count) values for shape \(shape)")
        }
        var probe = array
        let nested = shape.count >= 2 && (try? probe.nestedUnkeyedContainer()) != nil
        if nested {
            try readNested(&array, depth: 0, shape: shape, input: input, into: &values, readScalar)
        } else {
            try readFlat(&array, count: count, shape: shape, input: input, into: &values, readScalar)
        }
        return values
    }

    private static func readFlat<Scalar>(
        _ array: inout any UnkeyedDecodingContainer, count: Int, shape: [Int], input: String,
        into values: inout [Scalar], _ readScalar: Reader<Scalar>
    ) throws {
        if let given = array.count, given != count {
            throw RequestError("input '\(input)': 'data' has \(given) values, shape \(shape) needs \(count)")
        }
        while !array.isAtEnd {
            guard values.count < count else {
                throw RequestError("input '\(input)': 'data' has more than the \(count) values shape \(shape) needs")
            }
            values.append(try scalar(&array, input, readScalar))
        }
        guard values.count == count else {
            throw RequestError("input '\(input)': 'data' has \(values.count) values, shape \(shape) needs \(count)")
        }
    }

    private static func readNested<Scalar>(
        _ array: inout any UnkeyedDecodingContainer, depth: Int, shape: [Int], input: String,
        into values: inout [Scalar], _ readScalar: Reader<Scalar>
    ) throws {
        let expected = shape[depth]
        var seen = 0
        while !array.isAtEnd {
            guard seen < expected else { throw nestingError(input, depth, shape) }
            if depth == shape.count - 1 {
                values.append(try scalar(&array, input, readScalar))
            } else {
                guard var inner = try? array.nestedUnkeyedContainer() else { throw nestingError(input, depth, shape) }
                try readNested(&inner, depth: depth + 1, shape: shape, input: input, into: &values, readScalar)
            }
            seen += 1
        }
        guard seen == expected else { throw nestingError(input, depth, shape) }
    }

    private static func scalar<Scalar>(_ array: inout any UnkeyedDecodingContainer, _ input: String,
                                       _ readScalar: Reader<Scalar>) throws -> Scalar {
        do {
            return try readScalar(&array)
        } catch let error as RequestError {
            throw error
        } catch {
            throw RequestError("input '\(input)': 'data' holds a value that is not of the input's datatype")
        }
    }

    private static func nestingError(_ input: String, _ depth: Int, _ shape: [Int]) -> RequestError {
        RequestError("input '\(input)': nested 'data' does not match shape \(shape) at depth \(depth) (expected \(shape[depth]) entries)")
    }
}
