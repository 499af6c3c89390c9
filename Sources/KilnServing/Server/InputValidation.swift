import Kiln

/// Checks a request's inputs against a version's declared inputs before it is queued, so a bad
/// request fails alone and at once instead of inside a batch.
enum InputValidation {
    /// - Returns: The size of axis 0 (the request's rows) when `batchSymbol` is set, else 1.
    static func validate(_ inputs: [String: Tensor], against declared: [ValueInfo],
                         batchSymbol: String?) throws(SessionError) -> Int {
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
        guard let batchSymbol else { return 1 }
        return bindings[batchSymbol]?.size ?? 1
    }
}
