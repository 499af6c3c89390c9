/// `Not`: logical negation of a bool tensor.
package struct Not: Operator, UnaryElementwiseFunction {
    package static let opType = "Not"

    package init(node: Node, opset: Int) throws {
        try node.expectArity(inputs: 1...1)
    }

    @inline(__always)
    package func apply(_ x: Bool) -> Bool { !x }

    package func inferTypes(_ inputs: [InferenceInput], symbols: inout SymbolGenerator) throws -> [TensorType] {
        [try Elementwise.inferSameShape(inputs, allowed: [.bool])]
    }

    package func run(_ inputs: [Tensor?], context: ExecutionContext) throws -> [Tensor] {
        [try Elementwise.unary(self, Elementwise.require(inputs, 0), cost: .cheap, context: context)]
    }
}
