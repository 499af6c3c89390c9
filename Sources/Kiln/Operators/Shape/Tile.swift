/// `Tile`: repeats the input `repeats[i]` times along each axis i (`repeats` is an int64 input with
/// one non-negative value per axis).
package struct Tile: Operator {
    package static let opType = "Tile"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...2)
    }

    static func checkRepeats(_ repeats: [Int], rank: Int) throws {
        guard repeats.count == rank else { throw OperatorError("repeats has \(repeats.count) values, the input has rank \(rank)") }
        for (position, value) in repeats.enumerated() where value < 0 {
            throw OperatorError("repeats value \(value) at position \(position) is negative")
        }
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let data = try ShapeInference.requireType(inputs, 0)
        try IndexValues.requireIntegerType(inputs, 1, name: "repeats")
        guard let shape = data.shape else { return [TensorType(data.dtype, nil)] }
        guard let repeats = inputs[1].constantIntegers else { return [TensorType(data.dtype, shape.map { _ in symbols.fresh() })] }
        try Tile.checkRepeats(repeats, rank: shape.count)
        return [TensorType(data.dtype, try zip(shape, repeats).map { dim, times -> Dim in
            if let size = dim.value { return .fixed(try IndexValues.product(size, times, of: "tiling \(size) by \(times)")) }
            return times == 1 ? dim : times == 0 ? .fixed(0) : symbols.fresh()
        })]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let data = try OperatorInput.required(inputs, 0, name: "input")
        let repeats = try IndexValues.integers(OperatorInput.required(inputs, 1, name: "repeats"), name: "repeats")
        try Tile.checkRepeats(repeats, rank: data.rank)
        let outputShape = try zip(data.shape, repeats).map { dim, times -> Int in
            let (product, overflow) = dim.multipliedReportingOverflow(by: times)
            guard !overflow else { throw OperatorError("tiling \(data.shape) by \(repeats) overflows") }
            return product
        }
        let output = try Tensor.uninitialized(data.dtype, shape: outputShape)
        // The output viewed as [repeats0, dim0, repeats1, dim1, ...]: the source ignores the repeat axes.
        let inputStrides = ShapeArithmetic.strides(data.shape)
        let outputStrides = ShapeArithmetic.strides(outputShape)
        var viewShape: [Int] = [], sourceStrides: [Int] = [], destinationStrides: [Int] = []
        for axis in 0..<data.rank {
            viewShape += [repeats[axis], data.shape[axis]]
            sourceStrides += [0, inputStrides[axis]]
            destinationStrides += [data.shape[axis] * outputStrides[axis], outputStrides[axis]]
        }
        data.withUnsafePointer(as: UInt8.self) { source in
            output.withUnsafeMutablePointer(as: UInt8.self) { destination in
                StridedCopy.copy(shape: viewShape, source: source, sourceStrides: sourceStrides, destination: destination,
                                 destinationStrides: destinationStrides, elementSize: data.dtype.byteSize, context: context)
            }
        }
        return [output]
    }
}
