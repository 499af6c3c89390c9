/// Element types the arithmetic operators compute on, with the per-type semantics ONNX (numpy)
/// gives them.
///
/// Integer arithmetic wraps on overflow, as in numpy and ONNX Runtime, instead of trapping: a tensor
/// value must never crash the process. Float `maximum`/`minimum` propagate NaN (numpy `maximum`).
package protocol ElementwiseNumeric: TensorScalar, Comparable {
    static var zero: Self { get }
    static var one: Self { get }
    /// The bottom of the type's range: -inf for floats, `min` for integers.
    static var lowest: Self { get }
    /// The top of the type's range: +inf for floats, `max` for integers.
    static var highest: Self { get }
    static func add(_ a: Self, _ b: Self) -> Self
    static func subtract(_ a: Self, _ b: Self) -> Self
    static func multiply(_ a: Self, _ b: Self) -> Self
    /// Integers: truncation toward zero (C, ONNX Runtime); a zero divisor gives the dividend, so
    /// operators reject zero divisors before they divide. `min / -1` wraps to `min`.
    static func divide(_ a: Self, _ b: Self) -> Self
    static func negate(_ a: Self) -> Self
    static func absolute(_ a: Self) -> Self
    static func maximum(_ a: Self, _ b: Self) -> Self
    static func minimum(_ a: Self, _ b: Self) -> Self
    /// -1, 0 or 1 (floats: -0 gives +0 and NaN stays NaN, as in ONNX Runtime).
    static func sign(_ a: Self) -> Self
    /// a - b * trunc(a / b), with the sign of `a` (C `fmod`, `%`). Integers: a zero divisor gives
    /// 0, so operators reject zero divisors first.
    static func truncatingRemainder(_ a: Self, _ b: Self) -> Self
}

extension ElementwiseNumeric where Self: BinaryFloatingPoint {
    @inline(__always) package static var zero: Self { 0 }
    @inline(__always) package static var one: Self { 1 }
    @inline(__always) package static var lowest: Self { -.infinity }
    @inline(__always) package static var highest: Self { .infinity }
    @inline(__always) package static func add(_ a: Self, _ b: Self) -> Self { a + b }
    @inline(__always) package static func subtract(_ a: Self, _ b: Self) -> Self { a - b }
    @inline(__always) package static func multiply(_ a: Self, _ b: Self) -> Self { a * b }
    @inline(__always) package static func divide(_ a: Self, _ b: Self) -> Self { a / b }
    @inline(__always) package static func negate(_ a: Self) -> Self { -a }
    @inline(__always) package static func absolute(_ a: Self) -> Self { a.magnitude }
    @inline(__always) package static func maximum(_ a: Self, _ b: Self) -> Self { a > b || a != a ? a : b }
    @inline(__always) package static func minimum(_ a: Self, _ b: Self) -> Self { a < b || a != a ? a : b }
    @inline(__always) package static func sign(_ a: Self) -> Self { a > 0 ? 1 : (a < 0 ? -1 : (a == 0 ? 0 : a)) }
    @inline(__always) package static func truncatingRemainder(_ a: Self, _ b: Self) -> Self {
        a.truncatingRemainder(dividingBy: b)
    }
}

extension ElementwiseNumeric where Self: FixedWidthInteger {
    @inline(__always) package static var zero: Self { 0 }
    @inline(__always) package static var one: Self { 1 }
    @inline(__always) package static var lowest: Self { min }
    @inline(__always) package static var highest: Self { max }
    @inline(__always) package static func add(_ a: Self, _ b: Self) -> Self { a &+ b }
    @inline(__always) package static func subtract(_ a: Self, _ b: Self) -> Self { a &- b }
    @inline(__always) package static func multiply(_ a: Self, _ b: Self) -> Self { a &* b }
    @inline(__always) package static func divide(_ a: Self, _ b: Self) -> Self {
        a.dividedReportingOverflow(by: b).partialValue
    }
    @inline(__always) package static func negate(_ a: Self) -> Self { 0 &- a }
    @inline(__always) package static func absolute(_ a: Self) -> Self { a < 0 ? 0 &- a : a }
    @inline(__always) package static func maximum(_ a: Self, _ b: Self) -> Self { a > b ? a : b }
    @inline(__always) package static func minimum(_ a: Self, _ b: Self) -> Self { a < b ? a : b }
    @inline(__always) package static func sign(_ a: Self) -> Self { a > 0 ? 1 : (a < 0 ? 0 &- 1 : 0) }
    @inline(__always) package static func truncatingRemainder(_ a: Self, _ b: Self) -> Self {
        let (remainder, overflow) = a.remainderReportingOverflow(dividingBy: b)
        return overflow ? 0 : remainder
    }
}

extension Float: ElementwiseNumeric {}
extension Float16: ElementwiseNumeric {}
extension Int64: ElementwiseNumeric {}
extension Int32: ElementwiseNumeric {}
extension Int8: ElementwiseNumeric {}
extension UInt8: ElementwiseNumeric {}

/// An elementwise operation defined once for every ``ElementwiseNumeric`` type; operators adopt it
/// and the runners specialize it per dtype.
package protocol NumericUnaryOperation: Sendable {
    func apply<Scalar: ElementwiseNumeric>(_ x: Scalar) -> Scalar
}

/// A two-operand operation defined once for every ``ElementwiseNumeric`` type.
package protocol NumericBinaryOperation: Sendable {
    func apply<Scalar: ElementwiseNumeric>(_ a: Scalar, _ b: Scalar) -> Scalar
}

/// A comparison defined once for every ``ElementwiseNumeric`` type.
package protocol NumericComparison: Sendable {
    func compare<Scalar: ElementwiseNumeric>(_ a: Scalar, _ b: Scalar) -> Bool
}

/// A ``NumericUnaryOperation`` fixed to one element type.
package struct NumericUnaryFunction<Operation: NumericUnaryOperation, Scalar: ElementwiseNumeric>:
    UnaryElementwiseFunction
{
    package let operation: Operation
    package init(_ operation: Operation) { self.operation = operation }
    @inline(__always) package func apply(_ x: Scalar) -> Scalar { operation.apply(x) }
}

/// A ``NumericBinaryOperation`` fixed to one element type.
package struct NumericBinaryFunction<Operation: NumericBinaryOperation, Scalar: ElementwiseNumeric>:
    BinaryElementwiseFunction
{
    package let operation: Operation
    package init(_ operation: Operation) { self.operation = operation }
    @inline(__always) package func apply(_ a: Scalar, _ b: Scalar) -> Scalar { operation.apply(a, b) }
}

/// A ``NumericComparison`` fixed to one element type.
package struct NumericComparisonFunction<Operation: NumericComparison, Scalar: ElementwiseNumeric>:
    BinaryElementwiseFunction
{
    package let operation: Operation
    package init(_ operation: Operation) { self.operation = operation }
    @inline(__always) package func apply(_ a: Scalar, _ b: Scalar) -> Bool { operation.compare(a, b) }
}
