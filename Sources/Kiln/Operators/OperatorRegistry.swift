/// The explicit list of operators Kiln runs, keyed by ONNX op type (default domain).
///
/// Families of operators are declared in the `Registry/` files next to this one; adding an operator
/// means writing its file and adding its type to one of those lists.
package enum OperatorRegistry {
    package static let all: [any Operator.Type] =
        elementwiseOperators + neuralNetworkOperators + shapeOperators + miscellaneousOperators + extraOperators

    private static let byType: [String: any Operator.Type] = {
        var table: [String: any Operator.Type] = [:]
        for op in all { table[op.opType] = op }
        return table
    }()

    /// The operator for `opType` in `domain`, or nil.
    package static func lookup(opType: String, domain: String) -> (any Operator.Type)? {
        guard domain.isEmpty || domain == "ai.onnx" else { return nil }
        return byType[opType]
    }

    /// Op types Kiln supports, sorted.
    package static var supportedOpTypes: [String] { all.map { $0.opType }.sorted() }

    /// Instantiates the operator for `node`, turning its errors into ``GraphError``.
    package static func instantiate(_ node: Node, opset: Int) throws(GraphError) -> any Operator {
        guard let type = lookup(opType: node.opType, domain: node.domain) else {
            throw .unsupportedOperator(opType: node.opType, domain: node.domain, node: node.name)
        }
        do {
            return try type.init(node: node, opset: opset)
        } catch let error as GraphError {
            throw error
        } catch {
            throw .invalidNode(node: node.name, opType: node.opType, reason: "\(error)")
        }
    }
}
