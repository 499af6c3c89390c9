import Foundation
import Kiln

/// Turns `AttributeProto`s into ``Attribute`` values.
package struct ONNXAttributeDecoder: Sendable {
    package var tensors: ONNXTensorDecoder

    package init(tensors: ONNXTensorDecoder) {
        self.tensors = tensors
    }

    /// All attributes of a node, keyed by name.
    package func attributes(of proto: Onnx_NodeProto, nodeName: String)
        throws(ONNXImportError) -> [String: Attribute]
    {
        var result: [String: Attribute] = [:]
        for attribute in proto.attribute {
            guard !attribute.name.isEmpty else {
                throw .invalidNode(node: nodeName, opType: proto.opType, reason: "has an attribute without a name")
            }
            let value = try self.attribute(attribute, nodeName: nodeName, opType: proto.opType)
            guard result.updateValue(value, forKey: attribute.name) == nil else {
                throw .invalidNode(
                    node: nodeName, opType: proto.opType, reason: "attribute '\(attribute.name)' is given twice")
            }
        }
        return result
    }

    /// One attribute's value.
    package func attribute(_ proto: Onnx_AttributeProto, nodeName: String, opType: String)
        throws(ONNXImportError) -> Attribute
    {
        let name = proto.name
        guard proto.refAttrName.isEmpty else {
            throw .unsupportedAttribute(node: nodeName, attribute: name, kind: "function attribute reference")
        }
        let kind = try Self.kind(of: proto, nodeName: nodeName, opType: opType)
        func missing(_ field: String) -> ONNXImportError {
            .invalidNode(node: nodeName, opType: opType, reason: "attribute '\(name)' is \(kind) but has no '\(field)'")
        }
        switch kind {
        case .float:
            guard proto.hasF else { throw missing("f") }
            return .float(proto.f)
        case .int:
            guard proto.hasI else { throw missing("i") }
            return .int(Int(proto.i))
        case .string:
            guard proto.hasS else { throw missing("s") }
            return .string(try Self.text(proto.s, nodeName: nodeName, opType: opType, attribute: name))
        case .tensor:
            guard proto.hasT else { throw missing("t") }
            return .tensor(try tensors.tensor(proto.t, name: "attribute '\(name)' of node '\(nodeName)'"))
        case .floats:
            return .floats(proto.floats)
        case .ints:
            return .ints(proto.ints.map { Int($0) })
        case .strings:
            var values: [String] = []
            for bytes in proto.strings {
                values.append(try Self.text(bytes, nodeName: nodeName, opType: opType, attribute: name))
            }
            return .strings(values)
        case .graph, .graphs:
            throw .unsupportedAttribute(node: nodeName, attribute: name, kind: "subgraph (\(kind))")
        case .sparseTensor, .sparseTensors, .tensors, .typeProto, .typeProtos, .undefined:
            throw .unsupportedAttribute(node: nodeName, attribute: name, kind: "\(kind)")
        }
    }

    /// The attribute's kind: its `type` field, or for files from before IR version 3 (which had no
    /// `type`) the one value field that is set.
    private static func kind(of proto: Onnx_AttributeProto, nodeName: String, opType: String)
        throws(ONNXImportError) -> Onnx_AttributeProto.AttributeType
    {
        if proto.hasType && proto.type != .undefined { return proto.type }
        var present: [Onnx_AttributeProto.AttributeType] = []
        if proto.hasF { present.append(.float) }
        if proto.hasI { present.append(.int) }
        if proto.hasS { present.append(.string) }
        if proto.hasT { present.append(.tensor) }
        if proto.hasG { present.append(.graph) }
        if proto.hasSparseTensor { present.append(.sparseTensor) }
        if proto.hasTp { present.append(.typeProto) }
        if !proto.floats.isEmpty { present.append(.floats) }
        if !proto.ints.isEmpty { present.append(.ints) }
        if !proto.strings.isEmpty { present.append(.strings) }
        if !proto.tensors.isEmpty { present.append(.tensors) }
        if !proto.graphs.isEmpty { present.append(.graphs) }
        if !proto.sparseTensors.isEmpty { present.append(.sparseTensors) }
        if !proto.typeProtos.isEmpty { present.append(.typeProtos) }
        guard present.count == 1 else {
            throw .invalidNode(
                node: nodeName, opType: opType,
                reason: "attribute '\(proto.name)' has no type and \(present.isEmpty ? "no value" : "several values")")
        }
        return present[0]
    }

    private static func text(_ bytes: Data, nodeName: String, opType: String, attribute: String)
        throws(ONNXImportError) -> String
    {
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .invalidNode(node: nodeName, opType: opType, reason: "attribute '\(attribute)' is not valid UTF-8")
        }
        return text
    }
}

extension Onnx_AttributeProto.AttributeType: CustomStringConvertible {
    package var description: String {
        switch self {
        case .undefined: return "UNDEFINED"
        case .float: return "FLOAT"
        case .int: return "INT"
        case .string: return "STRING"
        case .tensor: return "TENSOR"
        case .graph: return "GRAPH"
        case .sparseTensor: return "SPARSE_TENSOR"
        case .typeProto: return "TYPE_PROTO"
        case .floats: return "FLOATS"
        case .ints: return "INTS"
        case .strings: return "STRINGS"
        case .tensors: return "TENSORS"
        case .graphs: return "GRAPHS"
        case .sparseTensors: return "SPARSE_TENSORS"
        case .typeProtos: return "TYPE_PROTOS"
        }
    }
}
