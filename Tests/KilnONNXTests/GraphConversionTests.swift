import Foundation
import Kiln
import KilnONNX
import Testing

/// Structural conversion, checked at the Graph level so any op type can appear.
@Suite struct GraphConversionTests {
    typealias F = ONNXFixtures

    /// A model whose only node is `Constant` with `attribute`, output `c` as graph output.
    static func constantModel(_ attribute: Onnx_AttributeProto) -> Onnx_ModelProto {
        F.model(nodes: [F.node("Constant", [], ["c"], name: "const", attributes: [attribute])],
                inputs: [], outputs: [F.valueInfo("c", .float, nil)])
    }

    // MARK: Constant

    @Test func turnsConstantTensorIntoInitializer() throws {
        let value = F.floatTensor("ignored", dims: [2], [4, 5])
        let graph = try F.convert(Self.constantModel(F.tensorAttribute("value", value)))
        #expect(graph.nodes.isEmpty)
        #expect(try graph.initializers["c"]?.scalars(as: Float.self) == [4, 5])
        #expect(graph.initializers["c"]?.shape == [2])
    }

    @Test func turnsConstantScalarsAndListsIntoInitializers() throws {
        let float = try F.convert(Self.constantModel(F.floatAttribute("value_float", 2.5))).initializers["c"]
        #expect(float?.dtype == .float32)
        #expect(float?.shape == [])
        #expect(try float?.scalars(as: Float.self) == [2.5])

        let floats = try F.convert(Self.constantModel(F.attribute("value_floats") { $0.type = .floats; $0.floats = [1, -1] })).initializers["c"]
        #expect(floats?.shape == [2])
        #expect(try floats?.scalars(as: Float.self) == [1, -1])

        let int = try F.convert(Self.constantModel(F.intAttribute("value_int", -3))).initializers["c"]
        #expect(int?.dtype == .int64)
        #expect(int?.shape == [])
        #expect(try int?.scalars(as: Int64.self) == [-3])

        let ints = try F.convert(Self.constantModel(F.attribute("value_ints") { $0.type = .ints; $0.ints = [7, 8, 9] })).initializers["c"]
        #expect(ints?.shape == [3])
        #expect(try ints?.scalars(as: Int64.self) == [7, 8, 9])

        let empty = try F.convert(Self.constantModel(F.attribute("value_ints") { $0.type = .ints })).initializers["c"]
        #expect(empty?.shape == [0])
    }

    @Test func rejectsSparseAndStringConstants() {
        var sparse = Onnx_SparseTensorProto()
        sparse.dims = [4]
        let sparseModel = Self.constantModel(F.attribute("sparse_value") { $0.type = .sparseTensor; $0.sparseTensor = sparse })
        #expect(throws: ONNXImportError.unsupportedAttribute(node: "const", attribute: "sparse_value", kind: "sparse tensor")) {
            try F.convert(sparseModel)
        }
        let string = Self.constantModel(F.attribute("value_string") { $0.type = .string; $0.s = Data("hi".utf8) })
        #expect(throws: ONNXImportError.unsupportedDataType(tensor: "c", type: "STRING")) { try F.convert(string) }
        let strings = Self.constantModel(F.attribute("value_strings") { $0.type = .strings; $0.strings = [Data("a".utf8)] })
        #expect(throws: ONNXImportError.unsupportedDataType(tensor: "c", type: "STRING")) { try F.convert(strings) }
    }

    @Test func rejectsMalformedConstants() {
        var twoValues = Self.constantModel(F.floatAttribute("value_float", 1))
        twoValues.graph.node[0].attribute.append(F.intAttribute("value_int", 1))
        #expect(importError { try F.convert(twoValues) }?.caseName == "invalidNode")
        let noValue = F.model(nodes: [F.node("Constant", [], ["c"], name: "const")], inputs: [], outputs: [])
        #expect(importError { try F.convert(noValue) }?.caseName == "invalidNode")
        let wrongKind = Self.constantModel(F.intAttribute("value_float", 1))
        #expect(importError { try F.convert(wrongKind) }?.caseName == "invalidNode")
        var clash = Self.constantModel(F.floatAttribute("value_float", 1))
        clash.graph.initializer = [F.floatTensor("c", dims: [], [0])]
        #expect(throws: ONNXImportError.invalidGraph(.duplicateValue(name: "c"))) { try F.convert(clash) }
    }

    @Test func keepsConstantOfOtherDomainsAsNode() throws {
        var model = Self.constantModel(F.floatAttribute("value_float", 1))
        model.graph.node[0].domain = "com.example"
        let graph = try F.convert(model)
        #expect(graph.nodes.map(\.opType) == ["Constant"])
        #expect(graph.nodes.first?.domain == "com.example")
    }

    // MARK: inputs, initializers, dims

    @Test func turnsInputsWithInitializersIntoConstants() throws {
        let model = F.model(
            nodes: [F.node("Add", ["x", "bias"], ["y"], name: "add")],
            inputs: [F.valueInfo("x", .float, [F.dim(2)]), F.valueInfo("bias", .float, [F.dim(2)])],
            outputs: [F.valueInfo("y", .float, [F.dim(2)])],
            initializers: [F.floatTensor("bias", dims: [2], [1, 2])])
        let graph = try F.convert(model)
        #expect(graph.inputs.map(\.name) == ["x"])
        #expect(try graph.initializers["bias"]?.scalars(as: Float.self) == [1, 2])
    }

    @Test func rejectsInputDeclaredWithAnotherTypeThanItsInitializer() {
        let model = F.model(nodes: [], inputs: [F.valueInfo("w", .int64, [F.dim(1)])], outputs: [],
                            initializers: [F.floatTensor("w", dims: [1], [1])])
        #expect(importError { try F.convert(model) }?.caseName == "invalidValueInfo")
    }

    @Test func keepsDimParamsFixesDimValuesAndNamesMissingDims() throws {
        let model = F.model(
            nodes: [F.node("Add", ["a", "b"], ["y"], name: "add")],
            inputs: [F.valueInfo("a", .float, [F.dim("batch"), F.dim(3), F.unknownDim]),
                     F.valueInfo("b", .float, [F.unknownDim, F.dim(""), F.dim("a_dim2")])],
            outputs: [F.valueInfo("y", .float, nil)])
        let graph = try F.convert(model)
        #expect(graph.inputs[0].type == TensorType(.float32, ["batch", 3, "a_dim2_1"]))
        #expect(graph.inputs[1].type == TensorType(.float32, ["b_dim0", "b_dim1", "a_dim2"]))
        // Every blank dim gets its own symbol, distinct from the model's own dim_params.
        let symbols = graph.inputs.flatMap { $0.type.shape ?? [] }.compactMap { dim -> String? in
            if case .symbolic(let name) = dim { return name } else { return nil }
        }
        #expect(Set(symbols).count == symbols.count)
    }

    @Test func keepsUnknownRankAsNilShape() throws {
        let model = F.model(nodes: [], inputs: [F.valueInfo("x", .int64, nil)], outputs: [])
        #expect(try F.convert(model).inputs[0].type == TensorType(.int64, nil))
    }

    @Test func rejectsBadValueInfos() {
        let negative = F.model(nodes: [], inputs: [F.valueInfo("x", .float, [F.dim(-2)])], outputs: [])
        #expect(throws: ONNXImportError.invalidValueInfo(name: "x", reason: "dim 0 has negative size -2")) {
            try F.convert(negative)
        }
        let double = F.model(nodes: [], inputs: [F.valueInfo("x", .double, [F.dim(1)])], outputs: [])
        #expect(throws: ONNXImportError.unsupportedDataType(tensor: "x", type: "DOUBLE")) { try F.convert(double) }

        var sequence = Onnx_ValueInfoProto()
        sequence.name = "s"
        sequence.type.sequenceType = Onnx_TypeProto.Sequence()
        let sequenceModel = F.model(nodes: [], inputs: [sequence], outputs: [])
        #expect(throws: ONNXImportError.invalidValueInfo(name: "s", reason: "is a sequence; Kiln supports only tensors")) {
            try F.convert(sequenceModel)
        }
        var untyped = Onnx_ValueInfoProto()
        untyped.name = "u"
        #expect(importError { try F.convert(F.model(nodes: [], inputs: [untyped], outputs: [])) }?.caseName == "invalidValueInfo")
        let unnamed = F.model(nodes: [], inputs: [F.valueInfo("", .float, nil)], outputs: [])
        #expect(importError { try F.convert(unnamed) }?.caseName == "invalidValueInfo")
    }

    @Test func acceptsOutputsWithoutType() throws {
        var output = Onnx_ValueInfoProto()
        output.name = "y"
        let model = F.model(nodes: [F.node("Relu", ["x"], ["y"], name: "r")],
                            inputs: [F.valueInfo("x", .float, [F.dim(1)])], outputs: [output])
        let graph = try F.convert(model)
        #expect(graph.outputs.map(\.name) == ["y"])
        #expect(graph.outputs[0].type.shape == nil)
    }

    @Test func rejectsUnnamedAndDuplicateInitializers() {
        let unnamed = F.model(nodes: [], inputs: [], outputs: [], initializers: [F.floatTensor("", dims: [], [1])])
        #expect(importError { try F.convert(unnamed) }?.caseName == "invalidTensor")
        let duplicate = F.model(nodes: [], inputs: [], outputs: [],
                                initializers: [F.floatTensor("w", dims: [], [1]), F.floatTensor("w", dims: [], [2])])
        #expect(throws: ONNXImportError.invalidGraph(.duplicateValue(name: "w"))) { try F.convert(duplicate) }
    }

    @Test func rejectsSparseInitializers() {
        var model = F.model(nodes: [], inputs: [], outputs: [])
        var sparse = Onnx_SparseTensorProto()
        sparse.values = F.floatTensor("s", dims: [1], [1])
        model.graph.sparseInitializer = [sparse]
        #expect(importError { try F.convert(model) }?.caseName == "unsupportedFeature")
    }

    // MARK: attributes

    @Test func convertsEveryAttributeType() throws {
        let attributes = [
            F.intAttribute("axis", -1),
            F.floatAttribute("alpha", 0.25),
            F.attribute("mode") { $0.type = .string; $0.s = Data("nearest".utf8) },
            F.tensorAttribute("value", F.rawTensor("t", .int32, dims: [2], [3, 4] as [Int32])),
            F.attribute("pads") { $0.type = .ints; $0.ints = [0, 1, 2, 3] },
            F.attribute("scales") { $0.type = .floats; $0.floats = [1.5, 2] },
            F.attribute("names") { $0.type = .strings; $0.strings = [Data("a".utf8), Data("bé".utf8)] },
        ]
        let model = F.model(nodes: [F.node("Custom", ["x"], ["y"], name: "n", attributes: attributes)],
                            inputs: [F.valueInfo("x", .float, nil)], outputs: [])
        let node = try #require(try F.convert(model).nodes.first)
        guard case .int(-1)? = node.attributes["axis"] else { Issue.record("axis: \(String(describing: node.attributes["axis"]))"); return }
        guard case .float(0.25)? = node.attributes["alpha"] else { Issue.record("alpha"); return }
        guard case .string("nearest")? = node.attributes["mode"] else { Issue.record("mode"); return }
        guard case .tensor(let tensor)? = node.attributes["value"] else { Issue.record("value"); return }
        #expect(try tensor.scalars(as: Int32.self) == [3, 4])
        guard case .ints(let pads)? = node.attributes["pads"] else { Issue.record("pads"); return }
        #expect(pads == [0, 1, 2, 3])
        guard case .floats(let scales)? = node.attributes["scales"] else { Issue.record("scales"); return }
        #expect(scales == [1.5, 2])
        guard case .strings(let names)? = node.attributes["names"] else { Issue.record("names"); return }
        #expect(names == ["a", "bé"])
    }

    @Test func infersAttributeKindWhenTypeIsMissing() throws {
        // Files from before IR version 3 carry no `type`; the one value field set tells the kind.
        let untyped = F.attribute("axis") { $0.i = 2 }
        let model = F.model(nodes: [F.node("Custom", ["x"], ["y"], name: "n", attributes: [untyped])],
                            inputs: [F.valueInfo("x", .float, nil)], outputs: [])
        guard case .int(2)? = try F.convert(model).nodes.first?.attributes["axis"] else {
            Issue.record("axis was not read as an int")
            return
        }
        let ambiguous = F.attribute("axis") { $0.i = 2; $0.f = 1 }
        var bad = model
        bad.graph.node[0].attribute = [ambiguous]
        #expect(importError { try F.convert(bad) }?.caseName == "invalidNode")
    }

    @Test func rejectsSubgraphAndOtherUnsupportedAttributes() {
        let branch = F.attribute("then_branch") { $0.type = .graph; $0.g = Onnx_GraphProto() }
        let model = F.model(nodes: [F.node("If", ["c"], ["y"], name: "if", attributes: [branch])],
                            inputs: [F.valueInfo("c", .bool, [])], outputs: [])
        #expect(throws: ONNXImportError.unsupportedAttribute(node: "if", attribute: "then_branch", kind: "subgraph (GRAPH)")) {
            try F.convert(model)
        }
        let tensors = F.attribute("list") { $0.type = .tensors; $0.tensors = [F.floatTensor("t", dims: [], [1])] }
        var tensorsModel = model
        tensorsModel.graph.node[0].attribute = [tensors]
        #expect(throws: ONNXImportError.unsupportedAttribute(node: "if", attribute: "list", kind: "TENSORS")) {
            try F.convert(tensorsModel)
        }
        let reference = F.attribute("alpha") { $0.type = .float; $0.refAttrName = "outer_alpha" }
        var referenceModel = model
        referenceModel.graph.node[0].attribute = [reference]
        #expect(importError { try F.convert(referenceModel) }?.caseName == "unsupportedAttribute")
    }

    @Test func rejectsDuplicateAndBrokenAttributes() {
        var model = F.model(nodes: [F.node("Custom", ["x"], ["y"], name: "n",
                                           attributes: [F.intAttribute("k", 1), F.intAttribute("k", 2)])],
                            inputs: [F.valueInfo("x", .float, nil)], outputs: [])
        #expect(throws: ONNXImportError.invalidNode(node: "n", opType: "Custom", reason: "attribute 'k' is given twice")) {
            try F.convert(model)
        }
        model.graph.node[0].attribute = [F.attribute("k") { $0.type = .int }]
        #expect(throws: ONNXImportError.invalidNode(node: "n", opType: "Custom", reason: "attribute 'k' is INT but has no 'i'")) {
            try F.convert(model)
        }
        model.graph.node[0].attribute = [F.attribute("s") { $0.type = .string; $0.s = Data([0xFF, 0xFE]) }]
        #expect(importError { try F.convert(model) }?.caseName == "invalidNode")
        model.graph.node[0].attribute = [F.attribute("") { $0.type = .int; $0.i = 1 }]
        #expect(importError { try F.convert(model) }?.caseName == "invalidNode")
    }

    // MARK: nodes, opsets, metadata

    @Test func namesUnnamedAndDuplicateNodes() throws {
        let model = F.model(
            nodes: [F.node("Relu", ["x"], ["a"]), F.node("Relu", ["a"], ["b"], name: "r"),
                    F.node("Relu", ["b"], ["c"], name: "r"), F.node("Relu", ["c"], ["d"], name: "Relu_0")],
            inputs: [F.valueInfo("x", .float, nil)], outputs: [])
        let names = try F.convert(model).nodes.map(\.name)
        #expect(names.count == Set(names).count)
        #expect(names[1] == "r")
        #expect(names[3] == "Relu_0")
        #expect(names[0] == "Relu_0_1")
        #expect(names[2] == "r_2")
    }

    @Test func recordsOpsetImportsAndNormalizesTheDefaultDomain() throws {
        var model = F.reluModel()
        var ml = Onnx_OperatorSetIdProto()
        ml.domain = "ai.onnx.ml"
        ml.version = 3
        model.opsetImport[0].domain = "ai.onnx"
        model.opsetImport[0].version = 13
        model.opsetImport.append(ml)
        model.graph.node[0].domain = "ai.onnx"
        let graph = try F.convert(model)
        #expect(graph.opsetImports == ["": 13, "ai.onnx.ml": 3])
        #expect(graph.opset == 13)
        #expect(graph.nodes[0].domain == "")
    }

    @Test func acceptsEveryOpsetFrom7ToTheNewest() throws {
        for version in [7, 12, 17, 21, 28] {
            var model = F.reluModel()
            model.opsetImport[0].version = Int64(version)
            #expect(try F.convert(model).opset == version)
        }
        #expect(ONNXImporter.supportedOpsets == 7...28)
    }

    @Test func rejectsOpsetsOutsideTheSupportedRange() {
        for version: Int64 in [6, 29] {
            var model = F.reluModel()
            model.opsetImport[0].version = version
            #expect(throws: ONNXImportError.unsupportedOpset(version: Int(version), supported: 7...28)) {
                try F.convert(model)
            }
        }
        let missing = F.model(nodes: F.reluModel().graph.node, inputs: F.reluModel().graph.input,
                              outputs: F.reluModel().graph.output, opset: nil)
        #expect(throws: ONNXImportError.missingDefaultOpset) { try F.convert(missing) }
        var twice = F.reluModel()
        twice.opsetImport.append(twice.opsetImport[0])
        #expect(importError { try F.convert(twice) }?.caseName == "invalidOpsetImport")
    }

    @Test func readsMetadata() throws {
        var model = F.reluModel()
        model.producerName = "pytorch"
        model.producerVersion = "2.5.0"
        model.docString = "A tiny ReLU."
        var license = Onnx_StringStringEntryProto()
        license.key = "license"
        license.value = "MIT"
        model.metadataProps = [license]
        let (_, metadata) = try ONNXGraphConverter(model: model, baseDirectory: nil).convert()
        #expect(metadata == ModelMetadata(name: "test", description: "A tiny ReLU.", producerName: "pytorch",
                                          producerVersion: "2.5.0", properties: ["license": "MIT"]))
    }

    @Test func rejectsModelWithoutGraph() {
        #expect(throws: ONNXImportError.missingGraph) { try F.convert(Onnx_ModelProto()) }
    }

    @Test func rejectsNodeWithoutOpType() {
        let model = F.model(nodes: [F.node("", ["x"], ["y"], name: "blank")],
                            inputs: [F.valueInfo("x", .float, nil)], outputs: [])
        #expect(throws: ONNXImportError.invalidNode(node: "blank", opType: "", reason: "has no op_type")) {
            try F.convert(model)
        }
    }
}
