/// `NonZero`: the coordinates of the non-zero elements, as int64 `[rank, count]` in row-major
/// order (a scalar counts as rank 1, as ONNX Runtime does). NaN and -0.0: NaN is non-zero, -0.0 is zero.
package struct NonZero: Operator {
    package static let opType = "NonZero"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        let rank: Dim = data.rank.map { .fixed(max($0, 1)) } ?? symbols.fresh()
        return [TensorType(.int64, [rank, symbols.fresh()])]
    }

    /// Positions of the non-zero elements in row-major order.
    static func nonZeroPositions(_ data: Tensor) -> [Int] {
        func scan<T: Equatable>(_ type: T.Type, zero: T) -> [Int] {
            data.withUnsafePointer(as: T.self) { values in (0..<data.count).filter { values[$0] != zero } }
        }
        switch data.dtype {
        case .float32: return scan(Float.self, zero: 0)
        case .float16: return scan(Float16.self, zero: 0)
        case .int64: return scan(Int64.self, zero: 0)
        case .int32: return scan(Int32.self, zero: 0)
        case .int8, .uint8, .bool: return scan(UInt8.self, zero: 0)
        }
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "X")
        let positions = NonZero.nonZeroPositions(data)
        let shape = data.rank == 0 ? [1] : data.shape
        let strides = ShapeArithmetic.strides(shape)
        let output = try Tensor.uninitialized(.int64, shape: [shape.count, positions.count])
        output.withUnsafeMutablePointer(as: Int64.self) { coordinates in
            for (column, position) in positions.enumerated() {
                var remaining = position
                for axis in shape.indices {
                    coordinates[axis * positions.count + column] = Int64(remaining / strides[axis])
                    remaining %= strides[axis]
                }
            }
        }
        return [output]
    }
}
