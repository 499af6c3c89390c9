/// A per-element function of one operand, such as exp or a cast.
///
/// Kernels are generic over the function type, so each use is specialized and the call inlined into
/// a plain loop that the compiler can vectorize. Functions that carry parameters (LeakyRelu's alpha)
/// are small structs; the parameters end up in registers.
package protocol UnaryElementwiseFunction: Sendable {
    associatedtype Input
    associatedtype Output
    func apply(_ x: Input) -> Output
}

/// A per-element function of two operands (Add, Pow, Equal...).
package protocol BinaryElementwiseFunction: Sendable {
    associatedtype Left
    associatedtype Right
    associatedtype Output
    func apply(_ left: Left, _ right: Right) -> Output
}

/// A per-element function of three operands (Where).
package protocol TernaryElementwiseFunction: Sendable {
    associatedtype First
    associatedtype Second
    associatedtype Third
    associatedtype Output
    func apply(_ first: First, _ second: Second, _ third: Third) -> Output
}

/// The one-operand kernel: a flat loop.
package enum UnaryKernel {
    @inlinable
    package static func run<Function: UnaryElementwiseFunction>(
        _ function: Function, _ source: UnsafePointer<Function.Input>,
        _ destination: UnsafeMutablePointer<Function.Output>, count: Int
    ) {
        for index in 0..<count { destination[index] = function.apply(source[index]) }
    }
}

/// Runs a Float function on Float16 data: ONNX float16 math is float32 math rounded to float16.
package struct HalfPrecision<Base: UnaryElementwiseFunction>: UnaryElementwiseFunction
where Base.Input == Float, Base.Output == Float {
    package let base: Base
    package init(_ base: Base) { self.base = base }
    @inlinable
    package func apply(_ x: Float16) -> Float16 { Float16(base.apply(Float(x))) }
}
