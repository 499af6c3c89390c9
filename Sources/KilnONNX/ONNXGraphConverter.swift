import Foundation
import Kiln

/// Translates a decoded `ModelProto` into a Kiln ``Graph`` and ``ModelMetadata``, structurally only:
/// operators are not looked up here, so every conversion rule can be tested with any op type.
/// ``ONNXImporter`` adds the operator check and Kiln's validation and type inference.
package struct ONNXGraphConverter {
    /// Default-domain opsets whose operator definitions Kiln follows: from opset 7 (the oldest still
    /// produced by maintained exporters) to the newest defined by onnx 1.23 (whose `onnx.proto`
    /// generated this module's message code).
    package static let supportedOpsets = 7...28

    private let model: Onnx_ModelProto
    private let attributes: ONNXAttributeDecoder
    private var tensors: ONNXTensorDecoder { attributes.tensors }

    package init(model: Onnx_ModelProto, baseDirectory: URL?) {
        self.model = model
        attributes = ONNXAttributeDecoder(tensors: ONNXTensorDecoder(baseDirectory: baseDirectory))
    }

    /// Converts the whole model.
    package func convert() throws(ONNXImportError) -> (graph: Graph, metadata: ModelMetadata) {
        guard model.hasGraph else { throw .missingGraph }
        let proto = model.graph
        guard proto.sparseInitializer.isEmpty else {
            throw .unsupportedFeature("sparse initializers ('\(proto.sparseInitializer[0].values.name)')")
        }
        let nodeNames = Self.uniqueNodeNames(proto.node)
        var graph = Graph(name: proto.name.isEmpty ? "graph" : proto.name,
                          opsetImports: try opsetImports())

        for initializer in proto.initializer {
            let name = initializer.name
            guard !name.isEmpty else { throw .invalidTensor(name: "", reason: "an initializer has no name") }
            guard graph.initializers[name] == nil else {
                throw .invalidGraph(.duplicateValue(name: name))
            }
            graph.initializers[name] = try tensors.tensor(initializer, name: name)
        }

        let graphInputNames = Set(proto.input.map(\.name))
        for (index, node) in proto.node.enumerated() {
            let nodeName = nodeNames[index]
            guard !node.opType.isEmpty else {
                throw .invalidNode(node: nodeName, opType: "", reason: "has no op_type")
            }
            let domain = Self.normalizedDomain(node.domain)
            if domain.isEmpty && node.opType == "Constant" {
                let (name, value) = try constant(node, nodeName: nodeName)
                guard graph.initializers[name] == nil, !graphInputNames.contains(name) else {
                    throw .invalidGraph(.duplicateValue(name: name))
                }
                graph.initializers[name] = value
                continue
            }
            graph.nodes.append(Node(
                name: nodeName, opType: node.opType, domain: domain, inputs: node.input, outputs: node.output,
                attributes: try attributes.attributes(of: node, nodeName: nodeName)))
        }

        var dims = SymbolicDimNamer(reserved: Self.declaredDimParams(proto.input + proto.output))
        for input in proto.input {
            guard !input.name.isEmpty else { throw .invalidValueInfo(name: "", reason: "a graph input has no name") }
            if let constant = graph.initializers[input.name] {
                // An input with an initializer of the same name is a weight with a default value;
                // Kiln treats it as a constant so it can be folded and stored in the `.kiln` file.
                if case .tensorType(let tensorType)? = input.type.value, tensorType.elemType != 0,
                   tensorType.elemType != Int32(constant.dtype.onnxCode)
                {
                    throw .invalidValueInfo(
                        name: input.name,
                        reason: "is declared \(DType.onnxTypeName(Int(tensorType.elemType))) but its initializer is \(constant.dtype)")
                }
                continue
            }
            guard let type = try Self.tensorType(input, dims: &dims) else {
                throw .invalidValueInfo(name: input.name, reason: "graph input has no tensor type")
            }
            graph.inputs.append(ValueInfo(name: input.name, type: type))
        }
        for output in proto.output {
            guard !output.name.isEmpty else { throw .invalidValueInfo(name: "", reason: "a graph output has no name") }
            // Exporters may leave output types out; type inference fills them in.
            let type = try Self.tensorType(output, dims: &dims) ?? TensorType(.float32, nil)
            graph.outputs.append(ValueInfo(name: output.name, type: type))
        }
        return (graph, metadata(graphName: proto.name))
    }

    private func metadata(graphName: String) -> ModelMetadata {
        var properties: [String: String] = [:]
        for entry in model.metadataProps { properties[entry.key] = entry.value }
        return ModelMetadata(name: graphName, description: model.docString, producerName: model.producerName,
                             producerVersion: model.producerVersion, properties: properties)
    }

    /// `opset_import` as a domain -> version table, with "ai.onnx" folded into "".
    package func opsetImports() throws(ONNXImportError) -> [String: Int] {
        var imports: [String: Int] = [:]
        for entry in model.opsetImport {
            let domain = Self.normalizedDomain(entry.domain)
            guard entry.version >= 1 else {
                throw .invalidOpsetImport(domain: domain, reason: "version \(entry.version) is not positive")
            }
            guard imports.updateValue(Int(entry.version), forKey: domain) == nil else {
                throw .invalidOpsetImport(domain: domain, reason: "listed more than once")
            }
        }
        if let version = imports[""] {
            guard Self.supportedOpsets.contains(version) else {
                throw .unsupportedOpset(version: version, supported: Self.supportedOpsets)
            }
        } else if model.graph.node.contains(where: { Self.normalizedDomain($0.domain).isEmpty }) {
            throw .missingDefaultOpset
        }
        return imports
    }

    /// The initializer a `Constant` node stands for: its output name and value.
    private func constant(_ node: Onnx_NodeProto, nodeName: String) throws(ONNXImportError) -> (String, Tensor) {
        func invalid(_ reason: String) -> ONNXImportError {
            .invalidNode(node: nodeName, opType: "Constant", reason: reason)
        }
        guard node.input.isEmpty else { throw invalid("has \(node.input.count) inputs; Constant takes none") }
        guard node.output.count == 1, !node.output[0].isEmpty else { throw invalid("must have exactly one named output") }
        guard node.attribute.count == 1 else {
            throw invalid("must have exactly one value attribute, has \(node.attribute.map(\.name))")
        }
        let proto = node.attribute[0]
        switch proto.name {
        case "sparse_value":
            throw .unsupportedAttribute(node: nodeName, attribute: proto.name, kind: "sparse tensor")
        case "value_string", "value_strings":
            throw .unsupportedDataType(tensor: node.output[0], type: "STRING")
        case "value", "value_float", "value_floats", "value_int", "value_ints":
            break
        default:
            throw invalid("unknown attribute '\(proto.name)'")
        }
        let value = try attributes.attribute(proto, nodeName: nodeName, opType: "Constant")
        do {
            switch (proto.name, value) {
            case ("value", .tensor(let tensor)): return (node.output[0], tensor)
            case ("value_float", .float(let scalar)): return (node.output[0], Tensor(scalar: scalar))
            case ("value_floats", .floats(let scalars)):
                return (node.output[0], try Tensor(shape: [scalars.count], scalars: scalars))
            case ("value_int", .int(let scalar)): return (node.output[0], Tensor(scalar: Int64(scalar)))
            case ("value_ints", .ints(let scalars)):
                return (node.output[0], try Tensor(shape: [scalars.count], scalars: scalars.map { Int64($0) }))
            default:
                throw invalid("attribute '\(proto.name)' has the wrong kind (\(value))")
            }
        } catch let error as ONNXImportError {
            throw error
        } catch {
            throw invalid("\(error)")
        }
    }

    /// The Kiln type of a graph input or output, or nil when the value carries no type at all.
    private static func tensorType(_ proto: Onnx_ValueInfoProto, dims: inout SymbolicDimNamer)
        throws(ONNXImportError) -> TensorType?
    {
        guard proto.hasType, let value = proto.type.value else { return nil }
        guard case .tensorType(let tensorType) = value else {
            throw .invalidValueInfo(name: proto.name, reason: "is a \(Self.kindName(value)); Kiln supports only tensors")
        }
        guard tensorType.hasElemType, tensorType.elemType != 0 else {
            throw .invalidValueInfo(name: proto.name, reason: "has no element type")
        }
        guard let dtype = DType(onnxCode: Int(tensorType.elemType)) else {
            throw .unsupportedDataType(tensor: proto.name, type: DType.onnxTypeName(Int(tensorType.elemType)))
        }
        guard tensorType.hasShape else { return TensorType(dtype, nil) }
        var shape: [Dim] = []
        for (axis, dim) in tensorType.shape.dim.enumerated() {
            switch dim.value {
            case .dimValue(let size)?:
                guard size >= 0 else {
                    throw .invalidValueInfo(name: proto.name, reason: "dim \(axis) has negative size \(size)")
                }
                shape.append(.fixed(Int(size)))
            case .dimParam(let symbol)? where !symbol.isEmpty:
                shape.append(.symbolic(symbol))
            case .dimParam?, nil:
                shape.append(.symbolic(dims.fresh(value: proto.name, axis: axis)))
            }
        }
        return TensorType(dtype, shape)
    }

    private static func kindName(_ value: Onnx_TypeProto.OneOf_Value) -> String {
        switch value {
        case .tensorType: return "tensor"
        case .sequenceType: return "sequence"
        case .mapType: return "map"
        case .optionalType: return "optional"
        case .sparseTensorType: return "sparse tensor"
        case .opaqueType: return "opaque value"
        }
    }

    private static func declaredDimParams(_ values: [Onnx_ValueInfoProto]) -> Set<String> {
        var names = Set<String>()
        for value in values {
            guard case .tensorType(let tensorType)? = value.type.value else { continue }
            for dim in tensorType.shape.dim {
                if case .dimParam(let symbol)? = dim.value { names.insert(symbol) }
            }
        }
        return names
    }

    /// "" and "ai.onnx" both name the default domain.
    package static func normalizedDomain(_ domain: String) -> String {
        domain == "ai.onnx" ? "" : domain
    }

    /// Node names Kiln can use in errors: ONNX names are optional and need not be unique, so empty
    /// or repeated names get `<op type or name>_<index>` (suffixed further until unique).
    package static func uniqueNodeNames(_ nodes: [Onnx_NodeProto]) -> [String] {
        var taken = Set(nodes.map(\.name).filter { !$0.isEmpty })
        var kept = Set<String>()
        return nodes.enumerated().map { index, node in
            if !node.name.isEmpty && kept.insert(node.name).inserted { return node.name }
            let base = "\(node.name.isEmpty ? node.opType : node.name)_\(index)"
            var candidate = base
            var attempt = 1
            while taken.contains(candidate) {
                candidate = "\(base)_\(attempt)"
                attempt += 1
            }
            taken.insert(candidate)
            return candidate
        }
    }
}

/// Names for dims an ONNX file leaves blank: `<value>_dim<axis>`, never reusing a `dim_param` of the
/// model, because equal symbols must bind to equal sizes and blank dims promise nothing of the kind.
struct SymbolicDimNamer {
    private var used: Set<String>

    init(reserved: Set<String>) {
        used = reserved
    }

    mutating func fresh(value: String, axis: Int) -> String {
        let base = "\(value)_dim\(axis)"
        var candidate = base
        var attempt = 1
        while used.contains(candidate) {
            candidate = "\(base)_\(attempt)"
            attempt += 1
        }
        used.insert(candidate)
        return candidate
    }
}
