/// `Div`: a / b, elementwise with multidirectional broadcasting, for every numeric dtype.
///
/// Integer division truncates toward zero, as ONNX Runtime and the ONNX reference (true division
/// cast back to the integer type) do; exported PyTorch graphs rely on it for shape arithmetic. An
/// integer division by zero is an error rather than undefined behaviour.
package struct Div: NumericBinaryOperator {
    package static let opType = "Div"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...2)
        try rejectLegacyBroadcastAxis(node)
    }

    @inline(__always)
    package func apply<Scalar: ElementwiseNumeric>(_ a: Scalar, _ b: Scalar) -> Scalar { Scalar.divide(a, b) }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let dividend = try Elementwise.require(inputs, 0)
        let divisor = try Elementwise.require(inputs, 1)
        switch divisor.dtype {
        case .int64: try Div.rejectZero(divisor, as: Int64.self)
        case .int32: try Div.rejectZero(divisor, as: Int32.self)
        case .int8: try Div.rejectZero(divisor, as: Int8.self)
        case .uint8: try Div.rejectZero(divisor, as: UInt8.self)
        default: break
        }
        return [try Elementwise.numericBinary(self, dividend, divisor, context: context)]
    }

    private static func rejectZero<Scalar: FixedWidthInteger>(_ divisor: Tensor, as type: Scalar.Type) throws {
        let zeroAt = divisor.withUnsafePointer(as: Scalar.self) { values in
            (0..<divisor.count).first { values[$0] == 0 }
        }
        if let zeroAt { throw OperatorError("integer division by zero (divisor element \(zeroAt))") }
    }
}
