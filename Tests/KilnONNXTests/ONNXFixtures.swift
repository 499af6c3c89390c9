import Foundation
import Kiln
import KilnONNX

/// Builders for ONNX protobuf messages, so tests describe models in Swift without Python.
enum ONNXFixtures {
    typealias DataType = Onnx_TensorProto.DataType

    static func tensor(_ name: String, _ type: DataType, dims: [Int64]) -> Onnx_TensorProto {
        var tensor = Onnx_TensorProto()
        tensor.name = name
        tensor.dataType = Int32(type.rawValue)
        tensor.dims = dims
        return tensor
    }

    /// A tensor whose `raw_data` holds the little-endian bytes of `values`.
    static func rawTensor<Scalar>(_ name: String, _ type: DataType, dims: [Int64], _ values: [Scalar]) -> Onnx_TensorProto {
        var tensor = tensor(name, type, dims: dims)
        tensor.rawData = values.withUnsafeBytes { Data($0) }
        return tensor
    }

    static func floatTensor(_ name: String, dims: [Int64], _ values: [Float]) -> Onnx_TensorProto {
        var tensor = tensor(name, .float, dims: dims)
        tensor.floatData = values
        return tensor
    }

    static func valueInfo(_ name: String, _ type: DataType, _ dims: [Onnx_TensorShapeProto.Dimension]?) -> Onnx_ValueInfoProto {
        var tensorType = Onnx_TypeProto.Tensor()
        tensorType.elemType = Int32(type.rawValue)
        if let dims {
            var shape = Onnx_TensorShapeProto()
            shape.dim = dims
            tensorType.shape = shape
        }
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type.tensorType = tensorType
        return info
    }

    static func dim(_ size: Int64) -> Onnx_TensorShapeProto.Dimension {
        var dim = Onnx_TensorShapeProto.Dimension()
        dim.dimValue = size
        return dim
    }

    static func dim(_ symbol: String) -> Onnx_TensorShapeProto.Dimension {
        var dim = Onnx_TensorShapeProto.Dimension()
        dim.dimParam = symbol
        return dim
    }

    /// A dimension with neither a size nor a name.
    static let unknownDim = Onnx_TensorShapeProto.Dimension()

    static func node(_ opType: String, _ inputs: [String], _ outputs: [String], name: String = "",
                     domain: String = "", attributes: [Onnx_AttributeProto] = []) -> Onnx_NodeProto {
        var node = Onnx_NodeProto()
        node.opType = opType
        node.input = inputs
        node.output = outputs
        node.name = name
        if !domain.isEmpty { node.domain = domain }
        node.attribute = attributes
        return node
    }

    static func attribute(_ name: String, _ configure: (inout Onnx_AttributeProto) -> Void) -> Onnx_AttributeProto {
        var attribute = Onnx_AttributeProto()
        attribute.name = name
        configure(&attribute)
        return attribute
    }

    static func intAttribute(_ name: String, _ value: Int64) -> Onnx_AttributeProto {
        attribute(name) { $0.type = .int; $0.i = value }
    }

    static func floatAttribute(_ name: String, _ value: Float) -> Onnx_AttributeProto {
        attribute(name) { $0.type = .float; $0.f = value }
    }

    static func tensorAttribute(_ name: String, _ value: Onnx_TensorProto) -> Onnx_AttributeProto {
        attribute(name) { $0.type = .tensor; $0.t = value }
    }

    static func model(nodes: [Onnx_NodeProto], inputs: [Onnx_ValueInfoProto], outputs: [Onnx_ValueInfoProto],
                      initializers: [Onnx_TensorProto] = [], opset: Int64? = 17,
                      name: String = "test") -> Onnx_ModelProto {
        var graph = Onnx_GraphProto()
        graph.name = name
        graph.node = nodes
        graph.input = inputs
        graph.output = outputs
        graph.initializer = initializers
        var model = Onnx_ModelProto()
        model.irVersion = 8
        model.graph = graph
        if let opset {
            var entry = Onnx_OperatorSetIdProto()
            entry.domain = ""
            entry.version = opset
            model.opsetImport = [entry]
        }
        return model
    }

    /// `y = Relu(x)` with x: float32[batch, 3].
    static func reluModel() -> Onnx_ModelProto {
        model(nodes: [node("Relu", ["x"], ["y"], name: "relu")],
              inputs: [valueInfo("x", .float, [dim("batch"), dim(3)])],
              outputs: [valueInfo("y", .float, [dim("batch"), dim(3)])])
    }

    /// Converts without the operator check or Kiln validation, as the structural tests need.
    static func convert(_ model: Onnx_ModelProto, baseDirectory: URL? = nil) throws(ONNXImportError) -> Graph {
        try ONNXGraphConverter(model: model, baseDirectory: baseDirectory).convert().graph
    }

    /// Decodes one tensor the way initializers are decoded.
    static func decode(_ tensor: Onnx_TensorProto, baseDirectory: URL? = nil) throws(ONNXImportError) -> Tensor {
        try ONNXTensorDecoder(baseDirectory: baseDirectory).tensor(tensor, name: tensor.name)
    }

    /// A fresh, empty temporary folder.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-onnx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

extension ONNXImportError {
    /// The case name, for tests that pin which error a hostile input gets without fixing its wording.
    var caseName: String {
        Mirror(reflecting: self).children.first?.label ?? "\(self)"
    }
}

/// The ``ONNXImportError`` `body` throws, or nil when it succeeds or throws something else.
func importError<Result>(_ body: () throws -> Result) -> ONNXImportError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error as? ONNXImportError
    }
}

extension Onnx_ModelProto {
    /// The wire bytes, as an `.onnx` file holds them.
    func data() throws -> Data { try serializedBytes() }
}
