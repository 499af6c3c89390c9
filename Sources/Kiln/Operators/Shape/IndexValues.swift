/// Reading and checking the integer vectors that shape operators take as inputs or attributes
/// (shapes, axes, starts, pads, repeats...). Errors name the input and the offending value.
package enum IndexValues {
    /// The elements of an int64 or int32 tensor as `Int`s.
    /// - Parameters:
    ///   - tensor: The input tensor.
    ///   - name: The input's name for error messages, e.g. `"shape"`.
    ///   - allowScalar: Whether a rank-0 tensor is accepted as a one-element vector.
    package static func integers(_ tensor: Tensor, name: String, allowScalar: Bool = false) throws -> [Int] {
        guard tensor.dtype == .int64 || tensor.dtype == .int32 else {
            throw OperatorError("input '\(name)' must be int64 or int32, got \(tensor.dtype)")
        }
        guard tensor.rank == 1 || (allowScalar && tensor.rank == 0) else {
            throw OperatorError("input '\(name)' must be a 1-D tensor, got shape \(tensor.shape)")
        }
        return tensor.int64s().map { Int($0) }
    }

    /// One integer from a tensor holding exactly one int64/int32 element (rank 0 or shape [1]).
    package static func scalar(_ tensor: Tensor, name: String) throws -> Int {
        guard tensor.dtype == .int64 || tensor.dtype == .int32 else {
            throw OperatorError("input '\(name)' must be int64 or int32, got \(tensor.dtype)")
        }
        guard tensor.count == 1, tensor.rank <= 1 else {
            throw OperatorError("input '\(name)' must hold one value, got shape \(tensor.shape)")
        }
        return Int(tensor.int64s()[0])
    }

    /// Resolves possibly negative axes against `rank` and rejects out-of-range and repeated axes.
    /// Repeats are found in the result itself (a handful of axes; a `Set` cost two allocations per
    /// call on every run of the shape operators that take axes).
    /// - Parameter name: What the axes are, for error messages (e.g. `"axes"`).
    package static func normalizeAxes(_ axes: [Int], rank: Int, name: String = "axes") throws -> [Int] {
        var resolvedAxes: [Int] = []
        resolvedAxes.reserveCapacity(axes.count)
        for axis in axes {
            let resolved = axis < 0 ? axis + rank : axis
            guard resolved >= 0 && resolved < rank else {
                throw OperatorError("\(name) value \(axis) is out of range for rank \(rank)")
            }
            guard !resolvedAxes.contains(resolved) else { throw OperatorError("\(name) repeats axis \(axis)") }
            resolvedAxes.append(resolved)
        }
        return resolvedAxes
    }

    /// Checks that an integer input's type, when known, is int64 or int32.
    package static func requireIntegerType(_ inputs: [InferenceInput], _ index: Int, name: String) throws {
        guard index < inputs.count, inputs[index].isPresent, let type = inputs[index].type else { return }
        guard type.dtype == .int64 || type.dtype == .int32 else {
            throw OperatorError("input '\(name)' must be int64 or int32, got \(type.dtype)")
        }
    }

    /// The element count of a 1-D input when its type says so statically.
    package static func staticLength(_ inputs: [InferenceInput], _ index: Int) -> Int? {
        guard index < inputs.count, inputs[index].isPresent else { return nil }
        if let constant = inputs[index].constant { return constant.count }
        if let value = inputs[index].symbolicValue { return value.count }
        guard let shape = inputs[index].type?.shape else { return nil }
        if shape.isEmpty { return 1 }
        return shape.count == 1 ? shape[0].value : nil
    }

    /// The product of concrete dims with an error naming them when it overflows or a dim is negative.
    /// Partial products of an empty tensor's dims can overflow even though its element count is 0.
    package static func elementCount<Dims: Sequence>(_ shape: Dims) throws -> Int where Dims.Element == Int {
        let dims = Array(shape)
        do {
            return try ShapeArithmetic.elementCount(dims)
        } catch {
            throw OperatorError("\(error)")
        }
    }

    /// `values` added up, or an error saying what overflowed.
    package static func sum(_ values: [Int], of what: @autoclosure () -> String) throws -> Int {
        var total = 0
        for value in values {
            let (next, overflow) = total.addingReportingOverflow(value)
            guard !overflow else { throw OperatorError("\(what()) overflows") }
            total = next
        }
        return total
    }

    /// `a * b`, or an error saying what overflowed.
    package static func product(_ a: Int, _ b: Int, of what: @autoclosure () -> String) throws -> Int {
        let (result, overflow) = a.multipliedReportingOverflow(by: b)
        guard !overflow else { throw OperatorError("\(what()) overflows") }
        return result
    }
}

/// The product of some dims as a fixed factor times a multiset of symbols, so inference can cancel
/// symbols: `[batch, seq, 384] / [batch, seq, 12]` is 32 even though batch and seq are unknown.
package struct DimProduct: Sendable, Equatable {
    package var fixed: Int = 1
    /// Symbol name -> multiplicity.
    package var symbols: [String: Int] = [:]

    package init() {}

    package init<S: Sequence>(_ dims: S) where S.Element == Dim {
        for dim in dims { multiply(by: dim) }
    }

    package mutating func multiply(by dim: Dim) {
        switch dim {
        case .fixed(let size): fixed = fixed.multipliedReportingOverflow(by: size).partialValue
        case .symbolic(let name): symbols[name, default: 0] += 1
        }
    }

    /// The product as one dim when it is a fixed number or a single symbol; nil otherwise.
    package var dim: Dim? {
        if symbols.isEmpty || fixed == 0 { return .fixed(fixed) }
        if fixed == 1, symbols.count == 1, let (name, count) = symbols.first, count == 1 { return .symbolic(name) }
        return nil
    }

    /// `self / divisor` when it is a whole fixed number or a single symbol; nil when unknown.
    package func divided(by divisor: DimProduct) -> Dim? {
        guard divisor.fixed != 0, fixed % divisor.fixed == 0 else { return nil }
        if fixed == 0 { return .fixed(0) }
        var remaining = symbols
        for (name, count) in divisor.symbols {
            guard let have = remaining[name], have >= count else { return nil }
            remaining[name] = have == count ? nil : have - count
        }
        var quotient = DimProduct()
        quotient.fixed = fixed / divisor.fixed
        quotient.symbols = remaining
        return quotient.dim
    }
}
