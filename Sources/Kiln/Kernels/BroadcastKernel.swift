/// One operand of a row kernel: contiguous, or one value repeated along the row.
///
/// A repeated operand loads its value once, before the loop; the loop body then holds no load the
/// compiler must keep in order with the stores, so it vectorizes without alias checks on that operand.
package protocol RowOperand {
    associatedtype Element
    init(_ base: UnsafePointer<Element>)
    subscript(_ index: Int) -> Element { get }
}

package struct ContiguousOperand<Element>: RowOperand {
    private let base: UnsafePointer<Element>
    @inline(__always) package init(_ base: UnsafePointer<Element>) { self.base = base }
    @inline(__always) package subscript(_ index: Int) -> Element { base[index] }
}

package struct RepeatedOperand<Element>: RowOperand {
    private let value: Element
    @inline(__always) package init(_ base: UnsafePointer<Element>) { self.value = base.pointee }
    @inline(__always) package subscript(_ index: Int) -> Element { value }
}

/// Broadcasting two- and three-operand kernels: the fast path walks a ``BroadcastPlan`` row by row
/// with a specialized loop per row shape; the reference recomputes every operand index from the
/// output index, with no merging and no special cases.
package enum BroadcastKernel {
    // MARK: Two operands

    /// Computes output elements `range` of `function` broadcast over `left` and `right`.
    package static func binary<Function: BinaryElementwiseFunction>(
        _ function: Function, plan: BroadcastPlan,
        _ left: UnsafePointer<Function.Left>, _ right: UnsafePointer<Function.Right>,
        _ output: UnsafeMutablePointer<Function.Output>, range: Range<Int>
    ) {
        assert(plan.operandCount == 2)
        switch (plan.innerStride(0), plan.innerStride(1)) {
        case (1, 1):
            binaryRows(function, ContiguousOperand<Function.Left>.self, ContiguousOperand<Function.Right>.self,
                       plan, left, right, output, range)
        case (1, _):
            binaryRows(function, ContiguousOperand<Function.Left>.self, RepeatedOperand<Function.Right>.self,
                       plan, left, right, output, range)
        case (_, 1):
            binaryRows(function, RepeatedOperand<Function.Left>.self, ContiguousOperand<Function.Right>.self,
                       plan, left, right, output, range)
        default:
            binaryRows(function, RepeatedOperand<Function.Left>.self, RepeatedOperand<Function.Right>.self,
                       plan, left, right, output, range)
        }
    }

    @inline(__always)
    private static func binaryRows<Function: BinaryElementwiseFunction, L: RowOperand, R: RowOperand>(
        _ function: Function, _ leftKind: L.Type, _ rightKind: R.Type, _ plan: BroadcastPlan,
        _ left: UnsafePointer<Function.Left>, _ right: UnsafePointer<Function.Right>,
        _ output: UnsafeMutablePointer<Function.Output>, _ range: Range<Int>
    ) where L.Element == Function.Left, R.Element == Function.Right {
        plan.forEachRow(in: range) { start, count, offsets in
            binaryRow(function, L(left + offsets[0]), R(right + offsets[1]), output + start, count)
        }
    }

    @inline(__always)
    private static func binaryRow<Function: BinaryElementwiseFunction, L: RowOperand, R: RowOperand>(
        _ function: Function, _ left: L, _ right: R, _ output: UnsafeMutablePointer<Function.Output>, _ count: Int
    ) where L.Element == Function.Left, R.Element == Function.Right {
        for index in 0..<count { output[index] = function.apply(left[index], right[index]) }
    }

    /// The reference for ``binary(_:plan:_:_:_:range:)``: every output element of `outputShape`
    /// from indices recomputed against each operand's own shape.
    package static func referenceBinary<Function: BinaryElementwiseFunction>(
        _ function: Function,
        _ left: UnsafePointer<Function.Left>, leftShape: [Int],
        _ right: UnsafePointer<Function.Right>, rightShape: [Int],
        _ output: UnsafeMutablePointer<Function.Output>, outputShape: [Int]
    ) {
        let count = outputShape.reduce(1, *)
        for position in 0..<count {
            let leftIndex = sourceIndex(position, outputShape: outputShape, operandShape: leftShape)
            let rightIndex = sourceIndex(position, outputShape: outputShape, operandShape: rightShape)
            output[position] = function.apply(left[leftIndex], right[rightIndex])
        }
    }

    // MARK: Three operands

    /// Computes output elements `range` of `function` broadcast over three operands.
    package static func ternary<Function: TernaryElementwiseFunction>(
        _ function: Function, plan: BroadcastPlan,
        _ first: UnsafePointer<Function.First>, _ second: UnsafePointer<Function.Second>,
        _ third: UnsafePointer<Function.Third>,
        _ output: UnsafeMutablePointer<Function.Output>, range: Range<Int>
    ) {
        assert(plan.operandCount == 3)
        let operands = TernaryOperands<Function>(first: first, second: second, third: third, output: output)
        if plan.innerStride(0) == 1 {
            ternaryChooseSecond(function, ContiguousOperand<Function.First>.self, plan, operands, range)
        } else {
            ternaryChooseSecond(function, RepeatedOperand<Function.First>.self, plan, operands, range)
        }
    }

    private struct TernaryOperands<Function: TernaryElementwiseFunction> {
        let first: UnsafePointer<Function.First>
        let second: UnsafePointer<Function.Second>
        let third: UnsafePointer<Function.Third>
        let output: UnsafeMutablePointer<Function.Output>
    }

    private static func ternaryChooseSecond<Function: TernaryElementwiseFunction, A: RowOperand>(
        _ function: Function, _ firstKind: A.Type, _ plan: BroadcastPlan,
        _ operands: TernaryOperands<Function>, _ range: Range<Int>
    ) where A.Element == Function.First {
        if plan.innerStride(1) == 1 {
            ternaryChooseThird(function, A.self, ContiguousOperand<Function.Second>.self, plan, operands, range)
        } else {
            ternaryChooseThird(function, A.self, RepeatedOperand<Function.Second>.self, plan, operands, range)
        }
    }

    private static func ternaryChooseThird<Function: TernaryElementwiseFunction, A: RowOperand, B: RowOperand>(
        _ function: Function, _ firstKind: A.Type, _ secondKind: B.Type, _ plan: BroadcastPlan,
        _ operands: TernaryOperands<Function>, _ range: Range<Int>
    ) where A.Element == Function.First, B.Element == Function.Second {
        if plan.innerStride(2) == 1 {
            ternaryRows(function, A.self, B.self, ContiguousOperand<Function.Third>.self, plan, operands, range)
        } else {
            ternaryRows(function, A.self, B.self, RepeatedOperand<Function.Third>.self, plan, operands, range)
        }
    }

    private static func ternaryRows<
        Function: TernaryElementwiseFunction, A: RowOperand, B: RowOperand, C: RowOperand
    >(
        _ function: Function, _ firstKind: A.Type, _ secondKind: B.Type, _ thirdKind: C.Type,
        _ plan: BroadcastPlan, _ operands: TernaryOperands<Function>, _ range: Range<Int>
    ) where A.Element == Function.First, B.Element == Function.Second, C.Element == Function.Third {
        plan.forEachRow(in: range) { start, count, offsets in
            let first = A(operands.first + offsets[0])
            let second = B(operands.second + offsets[1])
            let third = C(operands.third + offsets[2])
            let output = operands.output + start
            for index in 0..<count { output[index] = function.apply(first[index], second[index], third[index]) }
        }
    }

    /// The reference for ``ternary(_:plan:_:_:_:_:range:)``.
    package static func referenceTernary<Function: TernaryElementwiseFunction>(
        _ function: Function,
        _ first: UnsafePointer<Function.First>, firstShape: [Int],
        _ second: UnsafePointer<Function.Second>, secondShape: [Int],
        _ third: UnsafePointer<Function.Third>, thirdShape: [Int],
        _ output: UnsafeMutablePointer<Function.Output>, outputShape: [Int]
    ) {
        let count = outputShape.reduce(1, *)
        for position in 0..<count {
            output[position] = function.apply(
                first[sourceIndex(position, outputShape: outputShape, operandShape: firstShape)],
                second[sourceIndex(position, outputShape: outputShape, operandShape: secondShape)],
                third[sourceIndex(position, outputShape: outputShape, operandShape: thirdShape)])
        }
    }

    /// The element of an operand of `operandShape` that output element `position` reads: numpy
    /// broadcasting aligns trailing dims and reads index 0 along the operand's size-1 dims.
    package static func sourceIndex(_ position: Int, outputShape: [Int], operandShape: [Int]) -> Int {
        var remainder = position
        var index = 0
        var operandStride = 1
        var operandAxis = operandShape.count - 1
        for axis in stride(from: outputShape.count - 1, through: 0, by: -1) {
            let coordinate = remainder % outputShape[axis]
            remainder /= outputShape[axis]
            if operandAxis >= 0 {
                let size = operandShape[operandAxis]
                if size != 1 { index += coordinate * operandStride }
                operandStride *= size
                operandAxis -= 1
            }
        }
        return index
    }
}
