/// `Mod`: the remainder of a / b, elementwise with multidirectional broadcasting.
///
/// With `fmod = 0` (the default, integers only) the result takes the sign of the divisor, as
/// Python's and numpy's `%` do; with `fmod = 1` it takes the sign of the dividend, as C `fmod` does.
/// Float inputs require `fmod = 1` (ONNX). An integer remainder by zero is an error.
package struct Mod: Operator, NumericBinaryOperation {
    package static let opType = "Mod"

    /// The `fmod` attribute: C semantics instead of Python's.
    package let usesTruncation: Bool

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...2)
        let fmod = try node.int("fmod", default: 0)
        guard fmod == 0 || fmod == 1 else { throw OperatorError("attribute 'fmod' must be 0 or 1, got \(fmod)") }
        usesTruncation = fmod == 1
    }

    @inline(__always)
    package func apply<Scalar: ElementwiseNumeric>(_ a: Scalar, _ b: Scalar) -> Scalar {
        let remainder = Scalar.truncatingRemainder(a, b)
        guard !usesTruncation else { return remainder }
        // Move a remainder whose sign differs from the divisor's into the divisor's range.
        return remainder != Scalar.zero && (remainder < Scalar.zero) != (b < Scalar.zero)
            ? Scalar.add(remainder, b) : remainder
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let type = try Elementwise.inferBroadcast(inputs, allowed: Elementwise.numericDTypes, symbols: &symbols)
        try checkFloatMode(type.dtype)
        return [type]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let dividend = try Elementwise.require(inputs, 0)
        let divisor = try Elementwise.require(inputs, 1)
        try checkFloatMode(dividend.dtype)
        if divisor.dtype.isInteger, divisor.int64s().contains(0) {
            throw OperatorError("integer remainder by zero")
        }
        return [try Elementwise.numericBinary(self, dividend, divisor, context: context)]
    }

    private func checkFloatMode(_ dtype: DType) throws {
        if dtype.isFloatingPoint && !usesTruncation {
            throw OperatorError("float inputs need attribute fmod = 1 (ONNX defines only C fmod for floats)")
        }
    }
}
