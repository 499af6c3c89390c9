/// `Concat`: joins any number of tensors along `axis`; all other dims must agree. Inputs that are
/// empty along the axis are allowed and contribute nothing.
package struct Concat: Operator {
    package static let opType = "Concat"

    let axis: Int

    package init(node: Node, opset: Int) throws {
        guard !node.inputs.isEmpty else { throw OperatorError("expects at least 1 input, has 0") }
        try node.expectArity(inputs: 1...Int.max)
        if let axis = try node.int("axis") {
            self.axis = axis
        } else if opset < 4 {
            self.axis = 1  // the default before opset 4 made the attribute required
        } else {
            throw OperatorError("attribute 'axis' is required")
        }
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let types = try inputs.indices.map { try ShapeInference.requireType(inputs, $0) }
        let dtype = types[0].dtype
        for (index, type) in types.enumerated() where type.dtype != dtype {
            throw OperatorError("input \(index) has dtype \(type.dtype), input 0 has \(dtype)")
        }
        let shapes = types.compactMap(\.shape)
        guard let rank = shapes.first?.count else { return [TensorType(dtype, nil)] }
        for shape in shapes where shape.count != rank {
            throw OperatorError("inputs have different ranks: \(shapes.map { $0.map(\.description) })")
        }
        let resolvedAxis = try ShapeInference.normalizeAxis(axis, rank: rank)
        guard shapes.count == types.count else {
            // Some input's shape is unknown: only the rank is.
            return [TensorType(dtype, (0..<rank).map { _ in symbols.fresh() })]
        }
        var output: [Dim] = []
        for dimension in 0..<rank {
            if dimension == resolvedAxis {
                output.append(Concat.sum(shapes.map { $0[dimension] }) ?? symbols.fresh())
                continue
            }
            // Sizes must agree at run time, so any fixed one (or else any symbol) names them all.
            var merged = shapes[0][dimension]
            for shape in shapes {
                switch (merged, shape[dimension]) {
                case (.fixed(let a), .fixed(let b)) where a != b:
                    throw OperatorError("inputs disagree on axis \(dimension): \(a) vs \(b)")
                case (.symbolic, .fixed): merged = shape[dimension]
                default: break
                }
            }
            output.append(merged)
        }
        return [TensorType(dtype, output)]
    }

    /// The sum of dims when it is a fixed number or a single symbol (plus zeros).
    static func sum(_ dims: [Dim]) -> Dim? {
        var fixed = 0
        var symbolic: [Dim] = []
        for dim in dims {
            switch dim {
            case .fixed(let size): fixed += size
            case .symbolic: symbolic.append(dim)
            }
        }
        if symbolic.isEmpty { return .fixed(fixed) }
        if symbolic.count == 1 && fixed == 0 { return symbolic[0] }
        return nil
    }

    package func symbolicValues(_ inputs: [InferenceInput]) -> [[Dim]?] {
        // Concatenating shape vectors, as exports do to build a Reshape target.
        var value: [Dim] = []
        for input in inputs {
            guard input.type?.shape?.count == 1, let part = input.dimsValue else { return [] }
            value += part
        }
        return [value]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let tensors = try inputs.indices.map { try OperatorInput.required(inputs, $0, name: "inputs[\($0)]") }
        let first = tensors[0]
        let resolvedAxis = try ShapeInference.normalizeAxis(axis, rank: first.rank)
        var outputShape = first.shape
        outputShape[resolvedAxis] = 0
        for (index, tensor) in tensors.enumerated() {
            guard tensor.dtype == first.dtype else {
                throw OperatorError("input \(index) has dtype \(tensor.dtype), input 0 has \(first.dtype)")
            }
            guard tensor.rank == first.rank else {
                throw OperatorError("input \(index) has shape \(tensor.shape), input 0 has \(first.shape): ranks differ")
            }
            for dimension in 0..<first.rank where dimension != resolvedAxis && tensor.shape[dimension] != first.shape[dimension] {
                throw OperatorError("input \(index) has shape \(tensor.shape), input 0 has \(first.shape): axis \(dimension) differs")
            }
            outputShape[resolvedAxis] = try IndexValues.sum([outputShape[resolvedAxis], tensor.shape[resolvedAxis]],
                                                            of: "the concatenated axis")
        }
        if tensors.count == 1 { return [first] }
        let output = try Tensor.uninitialized(first.dtype, shape: outputShape)
        let outputStrides = ShapeArithmetic.strides(outputShape)
        let elementSize = first.dtype.byteSize
        let outputStart = UnsafeRawPointer(output.storage.bytes), outputEnd = outputStart + output.byteCount
        var offset = 0
        output.withUnsafeMutablePointer(as: UInt8.self) { destination in
            for var tensor in tensors {
                let slice = destination + offset * outputStrides[resolvedAxis] * elementSize
                offset += tensor.shape[resolvedAxis]
                let source = UnsafeRawPointer(tensor.storage.bytes)
                // The memory plan put this input where it belongs in the output: nothing to copy.
                if source == UnsafeRawPointer(slice) { continue }
                // An input inside the output anywhere else would be overwritten before it is read
                // (a plan cannot place one so, but the copy must not depend on that): copy it aside.
                if source < outputEnd && outputStart < source + tensor.byteCount {
                    let aside = TensorStorage(uninitializedByteCount: tensor.byteCount)
                    aside.bytes.copyMemory(from: source, byteCount: tensor.byteCount)
                    tensor = Tensor(dtype: tensor.dtype, shape: tensor.shape, count: tensor.count, storage: aside)
                }
                tensor.withUnsafePointer(as: UInt8.self) { source in
                    StridedCopy.copy(shape: tensor.shape, source: source, sourceStrides: ShapeArithmetic.strides(tensor.shape),
                                     destination: slice, destinationStrides: outputStrides, elementSize: elementSize,
                                     context: context)
                }
            }
        }
        return [output]
    }

    /// Inputs lie end to end in the output when every dim before the axis is 1.
    package func joinsContiguously(_ inputs: [Tensor?]) -> Bool {
        let tensors = inputs.compactMap { $0 }
        guard tensors.count == inputs.count, tensors.count > 1,
              let resolvedAxis = try? ShapeInference.normalizeAxis(axis, rank: tensors[0].rank) else { return false }
        return tensors.allSatisfy { $0.shape[..<resolvedAxis].allSatisfy { $0 == 1 } }
    }
}
