extension Graph {
    /// Largest constant (in elements) that type inference will compute ahead of time to learn shapes.
    static let foldingElementLimit = 1 << 16

    /// Infers the dtype and shape of every value, through every node, symbolic dims included, and
    /// stores them in ``valueTypes``. Also checks that every node's operator is supported and accepts
    /// its attributes and input types.
    /// - Throws: ``GraphError`` naming the first node that fails.
    public mutating func inferTypes() throws(GraphError) {
        _ = try inferTypesCollectingConstants()
    }

    /// ``inferTypes()``, returning the ``topologicalOrder()`` it worked in (type inference changes
    /// no node, so the order stays valid for running the graph).
    package mutating func inferTypesReturningOrder() throws(GraphError) -> [Int] {
        let order = try topologicalOrder()
        _ = try inferTypesCollectingConstants(order: order)
        return order
    }

    /// ``inferTypes()``, also returning every value inference computed ahead of time (initializers,
    /// small folded results, shape values whose dims all turned out fixed); graph passes fold these.
    /// - Parameter order: ``topologicalOrder()`` of this graph when the caller already has it.
    package mutating func inferTypesCollectingConstants(order known: [Int]? = nil) throws(GraphError) -> [String: Tensor] {
        let order: [Int]
        if let known { order = known } else { order = try topologicalOrder() }
        var types: [String: TensorType] = [:]
        var constants: [String: Tensor] = [:]
        var symbolicValues: [String: [Dim]] = [:]
        for (name, tensor) in initializers {
            types[name] = TensorType(tensor.dtype, [Dim](tensor.shape))
            constants[name] = tensor
        }
        for input in inputs {
            types[input.name] = input.type
            constants[input.name] = nil  // an input overrides a same-named initializer
        }
        var symbols = SymbolGenerator()
        let context = ExecutionContext(threads: 1)
        for index in order {
            let node = nodes[index]
            let op = try OperatorRegistry.instantiate(node, opset: opset)
            let inferenceInputs = node.inputs.map { name -> InferenceInput in
                name.isEmpty ? .absent : InferenceInput(type: types[name], constant: constants[name],
                                                    symbolicValue: symbolicValues[name])
            }
            let outputTypes: [TensorType]
            do {
                outputTypes = try op.inferTypes(inferenceInputs, symbols: &symbols)
            } catch {
                throw .invalidNode(node: node.name, opType: node.opType, reason: "\(error)")
            }
            guard outputTypes.count >= node.outputs.count else {
                throw .invalidNode(node: node.name, opType: node.opType,
                                   reason: "produces \(outputTypes.count) outputs, node names \(node.outputs.count)")
            }
            for (name, type) in zip(node.outputs, outputTypes) where !name.isEmpty {
                types[name] = type
            }
            for (name, value) in zip(node.outputs, op.symbolicValues(inferenceInputs)) where !name.isEmpty {
                guard let value else { continue }
                // A symbolic value whose dims all turned out fixed is simply a constant, which lets
                // generic folding continue through operators that know nothing of symbols.
                if let tensor = SymbolicValue.constant(value, type: types[name]) {
                    constants[name] = tensor
                } else {
                    symbolicValues[name] = value
                }
            }
            if let folded = Graph.fold(op, inferenceInputs, outputTypes: outputTypes, context: context) {
                for (name, tensor) in zip(node.outputs, folded) where !name.isEmpty {
                    constants[name] = tensor
                    types[name] = TensorType(tensor.dtype, [Dim](tensor.shape))
                }
            }
        }
        valueTypes = types
        for position in outputs.indices {
            if let inferred = types[outputs[position].name] {
                outputs[position].type = Graph.merge(declared: outputs[position].type, inferred: inferred)
            }
        }
        return constants
    }

    /// Computes a node's outputs ahead of time when all its inputs are small constants.
    private static func fold(_ op: any Operator, _ inputs: [InferenceInput], outputTypes: [TensorType],
                             context: ExecutionContext) -> [Tensor]? {
        if let known = op.staticOutputs(inputs) { return known }
        // Small constant inputs can describe a huge output (ConstantOfShape, Expand, Tile, Range): do
        // not allocate it only to discard it.
        for type in outputTypes {
            if let shape = type.concreteShape,
               (try? ShapeArithmetic.elementCount(shape)).map({ $0 > foldingElementLimit }) ?? true { return nil }
        }
        let present = inputs.filter(\.isPresent)
        guard !present.isEmpty, present.allSatisfy({ ($0.constant?.count ?? .max) <= foldingElementLimit }) else {
            return nil
        }
        guard let outputs = try? op.run(inputs.map { $0.isPresent ? $0.constant : nil }, context: context),
              outputs.allSatisfy({ $0.count <= foldingElementLimit })
        else { return nil }
        return outputs
    }

    /// Prefers inferred information, keeping declared symbolic names where inference minted its own.
    private static func merge(declared: TensorType, inferred: TensorType) -> TensorType {
        guard let declaredShape = declared.shape, let inferredShape = inferred.shape,
              declaredShape.count == inferredShape.count else { return inferred }
        let shape = zip(declaredShape, inferredShape).map { declaredDim, inferredDim -> Dim in
            if case .symbolic(let name) = inferredDim, name.hasPrefix("unk_") { return declaredDim }
            return inferredDim
        }
        return TensorType(inferred.dtype, shape)
    }
}
