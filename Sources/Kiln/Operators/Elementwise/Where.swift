/// `Where`: `x` where `condition` is true, else `y`, with the three inputs broadcast together
/// (multidirectional). `condition` is bool; `x` and `y` share any dtype, which the output takes.
package struct Where: Operator {
    package static let opType = "Where"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 3...3)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let condition = try ShapeInference.requireType(inputs, 0)
        let x = try ShapeInference.requireType(inputs, 1)
        let y = try ShapeInference.requireType(inputs, 2)
        guard condition.dtype == .bool else { throw OperatorError("condition (input 0) must be bool, got \(condition.dtype)") }
        guard x.dtype == y.dtype else {
            throw OperatorError("x (input 1) is \(x.dtype) but y (input 2) is \(y.dtype); they must match")
        }
        return [TensorType(x.dtype, try Elementwise.broadcastShape([condition, x, y], symbols: &symbols))]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let condition = try Elementwise.require(inputs, 0)
        let x = try Elementwise.require(inputs, 1)
        let y = try Elementwise.require(inputs, 2)
        guard x.dtype == y.dtype else {
            throw OperatorError("x (input 1) is \(x.dtype) but y (input 2) is \(y.dtype); they must match")
        }
        // Selecting only moves bytes, so one kernel per element width serves every dtype of that width.
        switch x.dtype.byteSize {
        case 1: return [try select(UInt8.self, condition, x, y, context: context)]
        case 2: return [try select(UInt16.self, condition, x, y, context: context)]
        case 4: return [try select(UInt32.self, condition, x, y, context: context)]
        default: return [try select(UInt64.self, condition, x, y, context: context)]
        }
    }

    private func select<Bits: FixedWidthInteger & Sendable>(
        _ bits: Bits.Type, _ condition: Tensor, _ x: Tensor, _ y: Tensor, context: ExecutionContext
    ) throws -> Tensor {
        guard condition.dtype == .bool else { throw OperatorError("condition (input 0) must be bool, got \(condition.dtype)") }
        let plan = try BroadcastPlan(operandShapes: [condition.shape, x.shape, y.shape])
        let output = try Tensor.uninitialized(x.dtype, shape: plan.outputShape)
        condition.withUnsafePointer(as: Bool.self) { conditionBase in
            x.withUnsafePointer(as: Bits.self) { xBase in
                y.withUnsafePointer(as: Bits.self) { yBase in
                    output.withUnsafeMutablePointer(as: Bits.self) { outputBase in
                        context.parallelFor(plan.outputCount, minimumChunk: Elementwise.Cost.cheap.minimumChunk) { range in
                            BroadcastKernel.ternary(Selection<Bits>(), plan: plan, conditionBase, xBase, yBase,
                                                    outputBase, range: range)
                        }
                    }
                }
            }
        }
        return output
    }

    /// The selection, on raw element bits.
    package struct Selection<Bits: FixedWidthInteger & Sendable>: TernaryElementwiseFunction {
        package init() {}
        @inline(__always)
        package func apply(_ condition: Bool, _ x: Bits, _ y: Bits) -> Bits { condition ? x : y }
    }
}
