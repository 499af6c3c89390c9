/// Shape-inference helpers shared by operators.
package enum ShapeInference {
    /// ONNX multidirectional broadcasting of static shapes. A symbolic dim against 1 stays symbolic;
    /// two different symbols give a fresh symbol (their sizes must agree at run time or one be 1).
    package static func broadcast(_ shapes: [[Dim]], symbols: inout SymbolGenerator) throws -> [Dim] {
        let rank = shapes.map(\.count).max() ?? 0
        var result: [Dim] = []
        result.reserveCapacity(rank)
        for axis in 0..<rank {
            var merged: Dim = .fixed(1)
            for shape in shapes {
                let offset = axis - (rank - shape.count)
                guard offset >= 0 else { continue }
                let dim = shape[offset]
                switch (merged, dim) {
                case (_, .fixed(1)): break
                case (.fixed(1), _): merged = dim
                case (.fixed(let a), .fixed(let b)):
                    guard a == b else { throw OperatorError("shapes \(shapes.map { $0.map(\.description) }) do not broadcast (\(a) vs \(b))") }
                case (.symbolic(let a), .symbolic(let b)) where a == b: break
                case (.fixed, .symbolic): break  // the symbol must equal the fixed size or be 1
                case (.symbolic, .fixed): merged = dim
                case (.symbolic, .symbolic): merged = symbols.fresh()
                }
            }
            result.append(merged)
        }
        return result
    }

    /// ONNX multidirectional broadcasting of concrete shapes.
    package static func broadcast(_ shapes: [[Int]]) throws -> [Int] {
        let rank = shapes.map(\.count).max() ?? 0
        var result = [Int](repeating: 1, count: rank)
        for shape in shapes {
            for (offset, size) in shape.enumerated() {
                let axis = rank - shape.count + offset
                if result[axis] == 1 {
                    result[axis] = size
                } else if size != 1 && size != result[axis] {
                    throw OperatorError("shapes \(shapes) do not broadcast (\(result[axis]) vs \(size) at axis \(axis))")
                }
            }
        }
        return result
    }

    /// Resolves a possibly negative axis against `rank`.
    package static func normalizeAxis(_ axis: Int, rank: Int) throws -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        guard resolved >= 0 && resolved < rank else { throw OperatorError("axis \(axis) is out of range for rank \(rank)") }
        return resolved
    }

    /// The type of input `index`, or an error saying it is needed.
    package static func requireType(_ inputs: [InferenceInput], _ index: Int) throws -> TensorType {
        guard index < inputs.count, inputs[index].isPresent, let type = inputs[index].type else {
            throw OperatorError("type of input \(index) is unknown")
        }
        return type
    }
}
