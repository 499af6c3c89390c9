#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `Mish`: x * tanh(softplus(x)). Float32 and float16.
///
/// With u = e^x, tanh(log(1 + u)) = (u^2 + 2u) / (u^2 + 2u + 2): one exp and one division, no log
/// and no cancellation for negative x. Above x = 20 the factor is 1 in Float (and u^2 would
/// overflow past 44), so the result is x.
package struct Mish: FloatUnaryOperator {
    package static let opType = "Mish"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float {
        let u = FastMath.exp(x)
        let n = u * (u + 2)
        return x > 20 ? x : x * (n / (n + 2))
    }

    package func reference(_ x: Float) -> Float {
        let value = Double(x)
        let softplus = value > 0 ? value + log1p(exp(-value)) : log1p(exp(value))
        return Float(value * tanh(softplus))
    }
}
