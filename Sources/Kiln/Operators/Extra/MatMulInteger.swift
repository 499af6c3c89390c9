/// `MatMulInteger`: numpy `matmul` of uint8/int8 `A` and `B` after subtracting their optional zero
/// points, giving exact int32 results (wrapping only where a 32-bit accumulator would).
///
/// `a_zero_point` is a scalar, one value per row of `A` (`[M]` or `[..., M, 1]`); `b_zero_point`
/// a scalar or one value per column of `B` (`[N]` or `[..., 1, N]`). Each zero point has its
/// operand's type.
package struct MatMulInteger: Operator {
    package static let opType = "MatMulInteger"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...4)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let a = try ShapeInference.requireType(inputs, 0)
        let b = try ShapeInference.requireType(inputs, 1)
        try QuantizedMatrixProduct.checkOperand(a.dtype, zeroPoint: OperatorInput.isPresent(inputs, 2) ? inputs[2].type?.dtype : nil, name: "A")
        try QuantizedMatrixProduct.checkOperand(b.dtype, zeroPoint: OperatorInput.isPresent(inputs, 3) ? inputs[3].type?.dtype : nil, name: "B")
        return [TensorType(.int32, try QuantizedMatrixProduct.inferShape(a.shape, b.shape, symbols: &symbols))]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let a = try OperatorInput.required(inputs, 0, name: "A")
        let b = try OperatorInput.required(inputs, 1, name: "B")
        let product = try QuantizedMatrixProduct.exactProduct(
            a, zeroPoint: OperatorInput.optional(inputs, 2), b, zeroPoint: OperatorInput.optional(inputs, 3))
        return [try Tensor(shape: product.shape, scalars: product.values.map(IntegerMatrixMultiplication.int32))]
    }
}

/// Checks and evaluation shared by `MatMulInteger` and `QLinearMatMul`.
package enum QuantizedMatrixProduct {
    package static func checkOperand(_ dtype: DType, zeroPoint: DType?, name: String) throws {
        guard dtype == .uint8 || dtype == .int8 else { throw OperatorError("\(name) must be uint8 or int8, got \(dtype)") }
        if let zeroPoint, zeroPoint != dtype {
            throw OperatorError("the zero point of \(name) is \(zeroPoint), \(name) is \(dtype); they must have the same type")
        }
    }

    /// numpy `matmul`'s output dims for possibly symbolic shapes.
    package static func inferShape(_ a: [Dim]?, _ b: [Dim]?, symbols: inout SymbolGenerator) throws -> [Dim]? {
        guard let a, let b else { return nil }
        guard !a.isEmpty, !b.isEmpty else {
            throw OperatorError("matrix product inputs must have rank >= 1, got shapes \(a.map(\.description)) and \(b.map(\.description))")
        }
        let left = a.count == 1 ? [Dim.fixed(1)] + a : a
        let right = b.count == 1 ? b + [Dim.fixed(1)] : b
        if let k1 = left[left.count - 1].value, let k2 = right[right.count - 2].value, k1 != k2 {
            throw OperatorError("inner dims differ: A \(a.map(\.description)) has \(k1), B \(b.map(\.description)) has \(k2)")
        }
        var shape = try ShapeInference.broadcast([Array(left.dropLast(2)), Array(right.dropLast(2))], symbols: &symbols)
        if a.count > 1 { shape.append(left[left.count - 2]) }
        if b.count > 1 { shape.append(right[right.count - 1]) }
        return shape
    }

    /// The shape a row-wise quantization parameter (zero point or scale of `A`) broadcasts from: a
    /// 1-D vector of M values means one per row, `[M, 1]`.
    package static func rowParameterShape(_ parameter: [Int], operand: [Int]) -> [Int] {
        guard parameter.count == 1, parameter[0] != 1, operand.count >= 2 else { return parameter }
        return [parameter[0], 1]
    }

    /// Checks that a zero point or scale of `shape` broadcasts to `target` without growing it.
    package static func checkBroadcast(_ shape: [Int], to target: [Int], what: String) throws {
        let count = shape.reduce(1, *)
        if count == 1 && shape.count <= 1 { return }
        guard shape.count <= target.count,
              (try? ShapeInference.broadcast([shape, target])) == target else {
            throw OperatorError("\(what) of shape \(shape) does not broadcast to \(target)")
        }
    }

    /// `(A - a_zero_point) x (B - b_zero_point)` exactly, as integer-valued doubles.
    package static func exactProduct(_ a: Tensor, zeroPoint aZeroPoint: Tensor?, _ b: Tensor, zeroPoint bZeroPoint: Tensor?)
        throws -> (values: [Double], shape: [Int])
    {
        try checkOperand(a.dtype, zeroPoint: aZeroPoint?.dtype, name: "A")
        try checkOperand(b.dtype, zeroPoint: bZeroPoint?.dtype, name: "B")
        let aZeroShape = rowParameterShape(aZeroPoint?.shape ?? [], operand: a.shape)
        let bZeroShape = bZeroPoint?.shape ?? []
        try checkBroadcast(aZeroShape, to: a.shape, what: "the zero point of A")
        try checkBroadcast(bZeroShape, to: b.shape, what: "the zero point of B")
        let left = IntegerMatrixMultiplication.centered(a, zeroPoint: aZeroPoint, zeroPointShape: aZeroShape)
        let right = IntegerMatrixMultiplication.centered(b, zeroPoint: bZeroPoint, zeroPointShape: bZeroShape)
        return try IntegerMatrixMultiplication.matmul(left, a.shape, right, b.shape)
    }
}
