/// `Cast`: converts every element to the dtype given by the `to` attribute (an ONNX data type code,
/// see ``DType/init(onnxCode:)``), between any two of Kiln's dtypes.
///
/// Conversions follow C and ONNX Runtime: float to integer truncates toward zero; integer to
/// narrower integer keeps the low bits (wraps); to float rounds to nearest; to bool is `!= 0` (NaN
/// is true); from bool gives 0 or 1. Where C leaves float to integer undefined, Kiln gives what ONNX
/// Runtime gives on x86-64, on every platform: NaN and out-of-range values become the type's
/// minimum for int32 and int64 (the "integer indefinite" of `cvttss2si`), and int8/uint8 take the
/// low byte of the int32 conversion (so -1.7 becomes 255 as uint8, as in numpy). The `saturate`
/// attribute (opset 19) only concerns float8 types, which Kiln does not have, so it is accepted
/// and ignored.
package struct Cast: Operator {
    package static let opType = "Cast"

    /// The target dtype.
    package let target: DType

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
        guard let code = try node.int("to") else { throw OperatorError("attribute 'to' is required") }
        guard let target = DType(onnxCode: code) else {
            throw OperatorError("cannot cast to \(DType.onnxTypeName(code)) (ONNX type \(code)): Kiln does not support that dtype")
        }
        _ = try node.int("saturate")
        self.target = target
    }

    package init(to target: DType) {
        self.target = target
    }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        return [TensorType(target, input.shape)]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        [try Cast.convert(Elementwise.require(inputs, 0), to: target, context: context)]
    }

    /// `input` converted to `target` (the input itself when it already has that dtype).
    static func convert(_ input: Tensor, to target: DType, context: ExecutionContext) throws -> Tensor {
        guard input.dtype != target else { return input }
        switch input.dtype {
        case .float32: return try convert(input, from: Float.self, to: target, context: context)
        case .float16: return try convert(input, from: Float16.self, to: target, context: context)
        case .int64: return try convert(input, from: Int64.self, to: target, context: context)
        case .int32: return try convert(input, from: Int32.self, to: target, context: context)
        case .int8: return try convert(input, from: Int8.self, to: target, context: context)
        case .uint8: return try convert(input, from: UInt8.self, to: target, context: context)
        case .bool: return try convert(input, from: Bool.self, to: target, context: context)
        }
    }

    private static func convert<Source: CastableScalar>(
        _ input: Tensor, from source: Source.Type, to target: DType, context: ExecutionContext
    ) throws -> Tensor {
        // Float16 conversions are software routines at the baseline x86-64 target.
        let cost: Elementwise.Cost = source == Float16.self || target == .float16 ? .expensive : .cheap
        switch target {
        case .float32: return try Elementwise.unary(Conversion<Source, Float>(), input, cost: cost, context: context)
        case .float16: return try Elementwise.unary(Conversion<Source, Float16>(), input, cost: cost, context: context)
        case .int64: return try Elementwise.unary(Conversion<Source, Int64>(), input, cost: cost, context: context)
        case .int32: return try Elementwise.unary(Conversion<Source, Int32>(), input, cost: cost, context: context)
        case .int8: return try Elementwise.unary(Conversion<Source, Int8>(), input, cost: cost, context: context)
        case .uint8: return try Elementwise.unary(Conversion<Source, UInt8>(), input, cost: cost, context: context)
        case .bool: return try Elementwise.unary(Conversion<Source, Bool>(), input, cost: cost, context: context)
        }
    }

    /// One source-to-destination conversion.
    package struct Conversion<Source: CastableScalar, Destination: CastableScalar>: UnaryElementwiseFunction {
        package init() {}
        @inline(__always)
        package func apply(_ x: Source) -> Destination { Destination.cast(from: x) }
    }
}

/// What a value looks like to ``Cast``: its kind, and the one wide representation conversions read.
package enum CastKind: Sendable {
    case floatingPoint, integer
}

/// An element type ``Cast`` converts from and to.
package protocol CastableScalar: TensorScalar {
    /// Floating-point types convert through ``castFloat``, integers and bool through ``castInteger``.
    static var castKind: CastKind { get }
    /// The value widened to Float (exact for float32 and float16).
    var castFloat: Float { get }
    /// The value widened to Int64 (exact for the integer types and bool).
    var castInteger: Int64 { get }
    /// `value` converted to this type.
    static func cast<Source: CastableScalar>(from value: Source) -> Self
}

extension Float: CastableScalar {
    package static var castKind: CastKind { .floatingPoint }
    @inline(__always) package var castFloat: Float { self }
    @inline(__always) package var castInteger: Int64 { 0 }
    @inline(__always) package static func cast<Source: CastableScalar>(from value: Source) -> Float {
        Source.castKind == .floatingPoint ? value.castFloat : Float(value.castInteger)
    }
}

extension Float16: CastableScalar {
    package static var castKind: CastKind { .floatingPoint }
    @inline(__always) package var castFloat: Float { Float(self) }
    @inline(__always) package var castInteger: Int64 { 0 }
    @inline(__always) package static func cast<Source: CastableScalar>(from value: Source) -> Float16 {
        Source.castKind == .floatingPoint ? Float16(value.castFloat) : Float16(value.castInteger)
    }
}

extension Bool: CastableScalar {
    package static var castKind: CastKind { .integer }
    @inline(__always) package var castFloat: Float { self ? 1 : 0 }
    @inline(__always) package var castInteger: Int64 { self ? 1 : 0 }
    @inline(__always) package static func cast<Source: CastableScalar>(from value: Source) -> Bool {
        Source.castKind == .floatingPoint ? value.castFloat != 0 : value.castInteger != 0
    }
}

/// An integer type ``Cast`` converts Floats to, with ONNX Runtime's x86-64 results where C leaves
/// the conversion undefined.
package protocol FloatTruncatingInteger: FixedWidthInteger {
    /// `x` truncated toward zero (see ``Cast`` for NaN and out-of-range values).
    static func converting(_ x: Float) -> Self
}

extension CastableScalar where Self: FloatTruncatingInteger {
    package static var castKind: CastKind { .integer }
    @inline(__always) package var castFloat: Float { Float(self) }
    @inline(__always) package var castInteger: Int64 { Int64(truncatingIfNeeded: self) }
    @inline(__always) package static func cast<Source: CastableScalar>(from value: Source) -> Self {
        Source.castKind == .floatingPoint ? converting(value.castFloat) : Self(truncatingIfNeeded: value.castInteger)
    }
}

extension Int64: CastableScalar, FloatTruncatingInteger {
    @inline(__always)
    package static func converting(_ x: Float) -> Int64 {
        // [-2^63, 2^63) converts; NaN fails both comparisons.
        x >= -0x1p63 && x < 0x1p63 ? Int64(x) : .min
    }
}

extension Int32: CastableScalar, FloatTruncatingInteger {
    @inline(__always)
    package static func converting(_ x: Float) -> Int32 {
        x >= -0x1p31 && x < 0x1p31 ? Int32(x) : .min
    }
}

extension Int8: CastableScalar, FloatTruncatingInteger {
    @inline(__always)
    package static func converting(_ x: Float) -> Int8 { Int8(truncatingIfNeeded: Int32.converting(x)) }
}

extension UInt8: CastableScalar, FloatTruncatingInteger {
    @inline(__always)
    package static func converting(_ x: Float) -> UInt8 { UInt8(truncatingIfNeeded: Int32.converting(x)) }
}
