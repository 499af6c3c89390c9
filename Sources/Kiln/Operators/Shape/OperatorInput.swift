/// Access to a node's run-time inputs with errors that name the missing input.
package enum OperatorInput {
    /// Input `index`, or an error naming it when it is absent.
    package static func required(_ inputs: [Tensor?], _ index: Int, name: String) throws -> Tensor {
        guard index < inputs.count, let tensor = inputs[index] else { throw OperatorError("input '\(name)' is missing") }
        return tensor
    }

    /// Input `index`, or nil when the node omits it.
    package static func optional(_ inputs: [Tensor?], _ index: Int) -> Tensor? {
        index < inputs.count ? inputs[index] : nil
    }

    /// Whether inference input `index` is given.
    package static func isPresent(_ inputs: [InferenceInput], _ index: Int) -> Bool {
        index < inputs.count && inputs[index].isPresent
    }
}
