/// Typed attribute accessors used by operators when they parse a node. Errors name the attribute.
extension Node {
    package func int(_ name: String) throws -> Int? {
        guard let attribute = attributes[name] else { return nil }
        guard case .int(let value) = attribute else { throw OperatorError("attribute '\(name)' must be an int, got \(attribute)") }
        return value
    }

    package func int(_ name: String, default fallback: Int) throws -> Int { try int(name) ?? fallback }

    package func float(_ name: String) throws -> Float? {
        guard let attribute = attributes[name] else { return nil }
        switch attribute {
        case .float(let value): return value
        case .int(let value): return Float(value)
        default: throw OperatorError("attribute '\(name)' must be a float, got \(attribute)")
        }
    }

    package func float(_ name: String, default fallback: Float) throws -> Float { try float(name) ?? fallback }

    package func string(_ name: String) throws -> String? {
        guard let attribute = attributes[name] else { return nil }
        guard case .string(let value) = attribute else { throw OperatorError("attribute '\(name)' must be a string, got \(attribute)") }
        return value
    }

    package func string(_ name: String, default fallback: String) throws -> String { try string(name) ?? fallback }

    package func ints(_ name: String) throws -> [Int]? {
        guard let attribute = attributes[name] else { return nil }
        switch attribute {
        case .ints(let values): return values
        case .int(let value): return [value]
        default: throw OperatorError("attribute '\(name)' must be a list of ints, got \(attribute)")
        }
    }

    package func floats(_ name: String) throws -> [Float]? {
        guard let attribute = attributes[name] else { return nil }
        switch attribute {
        case .floats(let values): return values
        case .float(let value): return [value]
        default: throw OperatorError("attribute '\(name)' must be a list of floats, got \(attribute)")
        }
    }

    package func tensor(_ name: String) throws -> Tensor? {
        guard let attribute = attributes[name] else { return nil }
        guard case .tensor(let value) = attribute else { throw OperatorError("attribute '\(name)' must be a tensor, got \(attribute)") }
        return value
    }

    /// Checks the number of inputs (counting omitted optional ones) and outputs.
    package func expectArity(inputs: ClosedRange<Int>, outputs: ClosedRange<Int> = 1...1) throws {
        guard inputs.contains(self.inputs.count) else {
            throw OperatorError("expects \(inputs.lowerBound == inputs.upperBound ? "\(inputs.lowerBound)" : "\(inputs.lowerBound) to \(inputs.upperBound)") inputs, has \(self.inputs.count)")
        }
        guard outputs.contains(self.outputs.count) else {
            throw OperatorError("expects \(outputs.lowerBound == outputs.upperBound ? "\(outputs.lowerBound)" : "\(outputs.lowerBound) to \(outputs.upperBound)") outputs, has \(self.outputs.count)")
        }
    }
}
