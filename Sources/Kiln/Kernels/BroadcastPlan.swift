/// How the operands of a broadcasting elementwise operation walk memory while the output is written
/// in order: ONNX multidirectional (numpy) broadcasting, reduced to as few dims as possible.
///
/// Output dims of size 1 are dropped and neighbouring dims merged wherever every operand steps
/// through both the same way, so the common cases collapse to one or two loops:
/// - same shapes: one dim, every operand contiguous;
/// - one operand a scalar: one dim, that operand's stride 0;
/// - a bias `[C]` over `[N, C]`: dims `[N, C]`, the bias repeating along N;
/// - a per-channel `[C, 1, 1]` over `[N, C, H, W]`: dims `[N, C, H*W]`, the channel value repeating
///   along the innermost dim.
/// The innermost dim is always contiguous (stride 1) or repeated (stride 0) for each operand, which
/// is what lets the row kernels run plain vectorizable loops.
package struct BroadcastPlan: Sendable, Equatable {
    /// The broadcast output shape (full rank, size-1 dims kept).
    package let outputShape: [Int]
    /// Number of output elements.
    package let outputCount: Int
    /// Merged output dims, innermost last; never empty (a one-element output has dims `[1]`).
    package let dims: [Int]
    /// Element strides, operand-major: `strides[operand * dims.count + axis]`; 0 where the operand
    /// repeats along that axis.
    package let strides: [Int]
    /// Number of operands.
    package let operandCount: Int

    /// Plans the broadcast of `operandShapes`.
    /// - Throws: ``OperatorError`` naming the shapes when they do not broadcast, or when the output
    ///   is too large to address.
    package init(operandShapes: [[Int]]) throws {
        let outputShape = try ShapeInference.broadcast(operandShapes)
        let outputCount: Int
        do {
            outputCount = try ShapeArithmetic.elementCount(outputShape)
        } catch {
            throw OperatorError("broadcast output shape \(outputShape) is too large: \(error)")
        }
        let rank = outputShape.count
        let naturalStrides = operandShapes.map(ShapeArithmetic.strides)
        var dims: [Int] = []
        var perOperand = [[Int]](repeating: [], count: operandShapes.count)
        for axis in 0..<rank where outputShape[axis] != 1 {
            let size = outputShape[axis]
            let axisStrides = operandShapes.indices.map { operand -> Int in
                let shape = operandShapes[operand]
                let offset = axis - (rank - shape.count)
                guard offset >= 0, shape[offset] != 1 else { return 0 }
                return naturalStrides[operand][offset]
            }
            // Merge with the previous kept dim when, for every operand, stepping once along it is the
            // same as stepping `size` times along this one (both repeated, or both contiguous).
            let mergeable = !dims.isEmpty && operandShapes.indices.allSatisfy { operand in
                perOperand[operand][dims.count - 1] == axisStrides[operand] &* size
            }
            if mergeable {
                dims[dims.count - 1] &*= size
                for operand in operandShapes.indices { perOperand[operand][dims.count - 1] = axisStrides[operand] }
            } else {
                dims.append(size)
                for operand in operandShapes.indices { perOperand[operand].append(axisStrides[operand]) }
            }
        }
        if dims.isEmpty {
            dims = [1]
            perOperand = perOperand.map { _ in [0] }
        }
        self.outputShape = outputShape
        self.outputCount = outputCount
        self.dims = dims
        self.strides = perOperand.flatMap { $0 }
        self.operandCount = operandShapes.count
    }

    /// Length of the innermost merged dim.
    package var innerCount: Int { dims[dims.count - 1] }

    /// The stride of `operand` along the innermost dim: 1 (contiguous) or 0 (repeated).
    package func innerStride(_ operand: Int) -> Int { strides[operand * dims.count + dims.count - 1] }

    /// Calls `body(outputStart, count, offsets)` for each run of consecutive output elements in
    /// `range` that lies within one innermost row; `offsets[operand]` is where that operand's
    /// elements for the run start. Runs come in output order.
    @inline(__always)
    package func forEachRow(in range: Range<Int>, _ body: (Int, Int, UnsafePointer<Int>) -> Void) {
        guard !range.isEmpty else { return }
        let rank = dims.count
        let operands = operandCount
        let innerAxis = rank - 1
        withUnsafeTemporaryAllocation(of: Int.self, capacity: rank + operands) { scratch in
            guard let base = scratch.baseAddress else { return }
            let index = base
            let offsets = base + rank
            strides.withUnsafeBufferPointer { stridesBuffer in
                dims.withUnsafeBufferPointer { dimsBuffer in
                    guard let operandStride = stridesBuffer.baseAddress, let dim = dimsBuffer.baseAddress else { return }
                    var remainder = range.lowerBound
                    for axis in stride(from: innerAxis, through: 0, by: -1) {
                        index[axis] = remainder % dim[axis]
                        remainder /= dim[axis]
                    }
                    for operand in 0..<operands {
                        var offset = 0
                        for axis in 0..<rank { offset &+= index[axis] &* operandStride[operand &* rank &+ axis] }
                        offsets[operand] = offset
                    }
                    var position = range.lowerBound
                    while position < range.upperBound {
                        let count = min(dim[innerAxis] &- index[innerAxis], range.upperBound &- position)
                        body(position, count, UnsafePointer(offsets))
                        position &+= count
                        guard position < range.upperBound else { break }
                        // Back to the start of the row, then carry into the outer dims.
                        for operand in 0..<operands {
                            offsets[operand] &-= index[innerAxis] &* operandStride[operand &* rank &+ innerAxis]
                        }
                        index[innerAxis] = 0
                        var axis = innerAxis - 1
                        while axis >= 0 {
                            index[axis] &+= 1
                            for operand in 0..<operands { offsets[operand] &+= operandStride[operand &* rank &+ axis] }
                            if index[axis] < dim[axis] { break }
                            for operand in 0..<operands {
                                offsets[operand] &-= dim[axis] &* operandStride[operand &* rank &+ axis]
                            }
                            index[axis] = 0
                            axis -= 1
                        }
                    }
                }
            }
        }
    }
}
