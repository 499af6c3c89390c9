extension InferenceSession {
    /// Checks `inputs` against a model's declared inputs: names, dtypes, ranks, fixed dims, and that
    /// every symbolic dim takes one size across all inputs. ``run(_:)`` does this before any kernel
    /// runs; a server can call it to reject a request before queueing it.
    /// - Parameters:
    ///   - inputs: The tensors, by input name.
    ///   - declared: The model's inputs (``Model/inputs``).
    /// - Returns: The size each symbolic dim is bound to, e.g. `["batch": 4]`.
    /// - Throws: ``SessionError`` naming the input and what was expected.
    public static func validate(_ inputs: [String: Tensor], against declared: [ValueInfo]) throws(SessionError)
        -> [String: Int]
    {
        if inputs.count != declared.count || declared.contains(where: { inputs[$0.name] == nil }) {
            let known = declared.map(\.name)
            for name in inputs.keys.sorted() where !known.contains(name) {
                throw .unknownInput(name: name, known: known)
            }
        }
        var bindings: [String: (input: String, axis: Int, size: Int)] = [:]
        for info in declared {
            guard let tensor = inputs[info.name] else { throw .missingInput(name: info.name, expected: info.type) }
            guard tensor.dtype == info.type.dtype else {
                throw .dtypeMismatch(input: info.name, expected: info.type.dtype, actual: tensor.dtype)
            }
            guard let shape = info.type.shape else { continue }
            guard shape.count == tensor.rank else {
                throw .rankMismatch(input: info.name, expected: shape, actual: tensor.shape)
            }
            for (axis, dim) in shape.enumerated() {
                let actual = tensor.shape[axis]
                switch dim {
                case .fixed(let expected):
                    guard expected == actual else {
                        throw .dimensionMismatch(input: info.name, axis: axis, expected: expected, actual: actual)
                    }
                case .symbolic(let symbol):
                    if let bound = bindings[symbol] {
                        guard bound.size == actual else {
                            throw .inconsistentSymbol(symbol: symbol, input: info.name, axis: axis, actual: actual,
                                                      boundBy: bound.input, boundAxis: bound.axis, boundSize: bound.size)
                        }
                    } else {
                        bindings[symbol] = (info.name, axis, actual)
                    }
                }
            }
        }
        return bindings.mapValues(\.size)
    }
}
