#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `Cos`: the cosine (radians), elementwise (float32, float16), through libm: it is rare in
/// models outside constant subgraphs that type inference folds, so it has no vectorized form.
package struct Cos: FloatUnaryOperator {
    package static let opType = "Cos"
    package static let cost = Elementwise.Cost.expensive

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    @inline(__always)
    package func apply(_ x: Float) -> Float { cos(x) }

    package func reference(_ x: Float) -> Float { Float(cos(Double(x))) }
}
