/// `ReduceMax` / `ReduceMin` over the dtypes other than float32 (float16, int64, int32, int8,
/// uint8 and bool, where false < true): the float32 path stays in ``ReductionAttributes``; this one
/// compares elements in their own type so int64 values beyond 2^24 stay exact.
///
/// An empty reduction gives the identity of the comparison: the type's lowest value for the
/// maximum (-infinity, `Int.min`, false) and its highest for the minimum.
package enum ExtremumReduction {
    package static let dtypes: Set<DType> = [.float16, .int64, .int32, .int8, .uint8, .bool]

    /// The output type, through the float32 shape rules of `reduction`.
    package static func inferTypes(_ inputs: [InferenceInput], reduction: ReductionAttributes, opType: String,
                                   symbols: inout SymbolGenerator) throws -> [TensorType] {
        guard let dtype = inputs.first?.type?.dtype, dtypes.contains(dtype) else {
            return try reduction.inferTypes(inputs, opType: opType, symbols: &symbols)
        }
        var widened = inputs
        widened[0].type?.dtype = .float32
        return try reduction.inferTypes(widened, opType: opType, symbols: &symbols).map { TensorType(dtype, $0.shape) }
    }

    /// Reduces `inputs[0]` (a dtype in ``dtypes``) over the axes `reduction` and `inputs[1]` name.
    package static func run(_ inputs: [Tensor?], reduction: ReductionAttributes, maximum: Bool) throws -> Tensor {
        let input = try OperatorInput.required(inputs, 0, name: "data")
        var axes = reduction.attributeAxes
        if let axesTensor = OperatorInput.optional(inputs, 1) {
            guard axesTensor.rank <= 1 else { throw OperatorError("axes input must be 1-D, has shape \(axesTensor.shape)") }
            axes = try IndexValues.integers(axesTensor.reshaped(to: [axesTensor.count]), name: "axes")
        }
        let reduced: Set<Int>
        if let axes, !axes.isEmpty {
            reduced = Set(try IndexValues.normalizeAxes(axes, rank: input.rank))
        } else {
            reduced = reduction.noopWithEmptyAxes ? [] : Set(0..<input.rank)
        }
        var outputShape: [Int] = []
        for (axis, size) in input.shape.enumerated() {
            if !reduced.contains(axis) { outputShape.append(size) } else if reduction.keepDims { outputShape.append(1) }
        }
        // Kept axes first, reduced axes last: each output element reduces one strided block.
        let kept = (0..<input.rank).filter { !reduced.contains($0) }, summed = reduced.sorted()
        let strides = ShapeArithmetic.strides(input.shape)
        let keptSizes = kept.map { input.shape[$0] }, keptStrides = kept.map { strides[$0] }
        let reducedSizes = summed.map { input.shape[$0] }, reducedStrides = summed.map { strides[$0] }

        func reduce<T: Comparable>(_ type: T.Type, lowest: T, highest: T) throws -> Tensor {
            let output = try Tensor.uninitialized(input.dtype, shape: outputShape)
            input.withUnsafePointer(as: T.self) { source in
                output.withUnsafeMutablePointer(as: T.self) { destination in
                    ExtremumKernels.reduce(source, keptSizes: keptSizes, keptStrides: keptStrides, reducedSizes: reducedSizes,
                                           reducedStrides: reducedStrides, maximum: maximum,
                                           empty: maximum ? lowest : highest, into: destination)
                }
            }
            return output
        }
        switch input.dtype {
        case .float16: return try reduce(Float16.self, lowest: -.infinity, highest: .infinity)
        case .int64: return try reduce(Int64.self, lowest: .min, highest: .max)
        case .int32: return try reduce(Int32.self, lowest: .min, highest: .max)
        case .int8: return try reduce(Int8.self, lowest: .min, highest: .max)
        case .uint8: return try reduce(UInt8.self, lowest: .min, highest: .max)
        case .bool: return try reduce(UInt8.self, lowest: 0, highest: 1)
        case .float32: throw OperatorError("float32 reductions run in ReductionAttributes")
        }
    }
}

/// The extremum loop: each output element is the maximum (or minimum) of one strided block.
package enum ExtremumKernels {
    package static func reduce<T: Comparable>(
        _ source: UnsafePointer<T>, keptSizes: [Int], keptStrides: [Int], reducedSizes: [Int], reducedStrides: [Int],
        maximum: Bool, empty: T, into destination: UnsafeMutablePointer<T>
    ) {
        let keptCount = keptSizes.reduce(1, *), reducedCount = reducedSizes.reduce(1, *)
        for index in 0..<keptCount {
            var offset = 0, remaining = index
            for axis in stride(from: keptSizes.count - 1, through: 0, by: -1) {
                offset += (remaining % keptSizes[axis]) * keptStrides[axis]
                remaining /= keptSizes[axis]
            }
            var best = empty
            for element in 0..<reducedCount {
                var elementOffset = offset, rest = element
                for axis in stride(from: reducedSizes.count - 1, through: 0, by: -1) {
                    elementOffset += (rest % reducedSizes[axis]) * reducedStrides[axis]
                    rest /= reducedSizes[axis]
                }
                let value = source[elementOffset]
                // A NaN (float16) wins and stays, as numpy.maximum gives.
                if value.isUnordered || (maximum ? value > best : value < best) { best = value }
            }
            destination[index] = best
        }
    }
}

extension Comparable {
    /// True for a value that compares unordered with itself (a NaN).
    @inline(__always)
    fileprivate var isUnordered: Bool { self != self }
}
