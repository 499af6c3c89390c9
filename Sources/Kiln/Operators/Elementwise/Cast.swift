/// `Cast`: converts every element to the dtype given by the `to` attribute (an ONNX data type code,
/// see ``DType/init(onnxCode:)``), between any two of Kiln's dtypes.
///
/// Conversions follow C and ONNX Runtime: float to integer truncates toward zero; integer to
/// narrower integer keeps the low bits (wraps); to float rounds to nearest; to bool is `!= 0` (NaN
/// is true); from bool gives 0 or 1. Where C leaves float to integer undefined (NaN, out of range),
/// Kiln saturates to the integer range and maps NaN to 0. The `saturate` attribute (opset 19) only
/// concerns float8 types, which Kiln does not have, so it is accepted and ignored.
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

/// An integer type with a direct (non-generic) conversion from an in-range Float.
package protocol FloatTruncatingInteger: FixedWidthInteger {
    /// `x` truncated toward zero; `x` must be in the type's range after truncation.
    init(truncatingInRange x: Float)
}

extension CastableScalar where Self: FloatTruncatingInteger {
    package static var castKind: CastKind { .integer }
    @inline(__always) package var castFloat: Float { Float(self) }
    @inline(__always) package var castInteger: Int64 { Int64(truncatingIfNeeded: self) }
    @inline(__always) package static func cast<Source: CastableScalar>(from value: Source) -> Self {
        Source.castKind == .floatingPoint
            ? saturatingTruncation(value.castFloat) : Self(truncatingIfNeeded: value.castInteger)
    }

    /// `x` truncated toward zero, clamped to the type's range; NaN gives 0.
    @inline(__always)
    static func saturatingTruncation(_ x: Float) -> Self {
        // Float(min) is exact (0 or minus a power of two), and everything at or below it ends at min.
        // Float(max) is either max itself or, for the wide types, rounds up to the first power of two
        // that no longer fits; everything at or above it ends at max.
        if x.isNaN { return 0 }
        if x <= Float(Self.min) { return Self.min }
        if x >= Float(Self.max) { return Self.max }
        return Self(truncatingInRange: x)
    }
}

extension Int64: CastableScalar, FloatTruncatingInteger {
    @inline(__always) package init(truncatingInRange x: Float) { self.init(x) }
}

extension Int32: CastableScalar, FloatTruncatingInteger {
    @inline(__always) package init(truncatingInRange x: Float) { self.init(x) }
}

extension Int8: CastableScalar, FloatTruncatingInteger {
    @inline(__always) package init(truncatingInRange x: Float) { self.init(x) }
}

extension UInt8: CastableScalar, FloatTruncatingInteger {
    @inline(__always) package init(truncatingInRange x: Float) { self.init(x) }
}
