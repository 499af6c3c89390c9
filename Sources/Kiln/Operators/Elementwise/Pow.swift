#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `Pow`: base ^ exponent, elementwise with multidirectional broadcasting.
///
/// The base is float32, float16, int32 or int64 and sets the output dtype; the exponent may be any
/// numeric dtype (ONNX's separate `T1`). Float powers follow libm `pow` (an exponent of exactly 2
/// takes a multiply, which gives the same correctly rounded square). Integer powers with an integer
/// exponent are exact and wrap on overflow (numpy); a negative integer exponent gives the truncated
/// real result (1 for base 1, ±1 for base -1, otherwise 0). Integer bases with float exponents go
/// through Double `pow` and truncate toward zero, saturating.
package struct Pow: Operator {
    package static let opType = "Pow"

    static let baseDTypes: [DType] = [.float32, .float16, .int32, .int64]

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 2...2)
        try rejectLegacyBroadcastAxis(node)
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let base = try ShapeInference.requireType(inputs, 0)
        let exponent = try ShapeInference.requireType(inputs, 1)
        try Elementwise.checkDType(base.dtype, allowed: Pow.baseDTypes, operand: "the base (input 0)")
        try Elementwise.checkDType(exponent.dtype, allowed: Elementwise.numericDTypes, operand: "the exponent (input 1)")
        return [TensorType(base.dtype, try Elementwise.broadcastShape([base, exponent], symbols: &symbols))]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        let base = try Elementwise.require(inputs, 0)
        let exponent = try Elementwise.require(inputs, 1)
        try Elementwise.checkDType(exponent.dtype, allowed: Elementwise.numericDTypes, operand: "the exponent (input 1)")
        switch base.dtype {
        case .float32:
            let floatExponent = try Pow.floatExponent(exponent)
            if floatExponent.count == 1, floatExponent.floats()[0] == 2 {
                return [try Elementwise.binary(FloatSquare(), base, floatExponent, cost: .cheap, context: context)]
            }
            return [try Elementwise.binary(FloatPower(), base, floatExponent, cost: .expensive, context: context)]
        case .float16:
            return [try Elementwise.binary(HalfPower(), base, Pow.floatExponent(exponent), cost: .expensive,
                                           context: context)]
        case .int64: return [try Pow.integerPower(base, exponent, as: Int64.self, context: context)]
        case .int32: return [try Pow.integerPower(base, exponent, as: Int32.self, context: context)]
        default:
            throw OperatorError("the base (input 0) is \(base.dtype); supported: \(Pow.baseDTypes.map(\.description).joined(separator: ", "))")
        }
    }

    private static func floatExponent(_ exponent: Tensor) throws -> Tensor {
        exponent.dtype == .float32 ? exponent : try Tensor(shape: exponent.shape, scalars: exponent.floats())
    }

    private static func integerPower<Base: FixedWidthInteger & TensorScalar>(
        _ base: Tensor, _ exponent: Tensor, as type: Base.Type, context: ExecutionContext
    ) throws -> Tensor {
        if exponent.dtype.isFloatingPoint {
            let floatExponent = try floatExponent(exponent)
            return try Elementwise.binary(IntegerFloatPower<Base>(), base, floatExponent, cost: .expensive,
                                          context: context)
        }
        let integerExponent = exponent.dtype == .int64
            ? exponent : try Tensor(shape: exponent.shape, scalars: exponent.int64s())
        return try Elementwise.binary(IntegerPower<Base>(), base, integerExponent, cost: .expensive, context: context)
    }

    struct FloatSquare: BinaryElementwiseFunction {
        @inline(__always) func apply(_ base: Float, _ exponent: Float) -> Float { base * base }
    }

    struct FloatPower: BinaryElementwiseFunction {
        @inline(__always) func apply(_ base: Float, _ exponent: Float) -> Float { pow(base, exponent) }
    }

    struct HalfPower: BinaryElementwiseFunction {
        @inline(__always) func apply(_ base: Float16, _ exponent: Float) -> Float16 {
            Float16(pow(Float(base), exponent))
        }
    }

    struct IntegerPower<Base: FixedWidthInteger & TensorScalar>: BinaryElementwiseFunction {
        func apply(_ base: Base, _ exponent: Int64) -> Base {
            if exponent < 0 {
                if base == 1 { return 1 }
                if base == 0 &- 1 { return exponent & 1 == 0 ? 1 : base }
                return 0
            }
            var result: Base = 1
            var square = base
            var remaining = exponent
            while remaining > 0 {
                if remaining & 1 == 1 { result = result &* square }
                square = square &* square
                remaining >>= 1
            }
            return result
        }
    }

    struct IntegerFloatPower<Base: FixedWidthInteger & TensorScalar>: BinaryElementwiseFunction {
        func apply(_ base: Base, _ exponent: Float) -> Base {
            let value = pow(Double(base), Double(exponent)).rounded(.towardZero)
            if value.isNaN { return 0 }
            if value <= Double(Base.min) { return Base.min }
            if value >= Double(Base.max) { return Base.max }
            return Base(value)
        }
    }
}
