import Foundation
import Kiln
import SwiftProtobuf

/// Imports ONNX models (`.onnx` files, as exported by PyTorch and friends) as Kiln graphs.
///
/// ```swift
/// let (graph, metadata) = try ONNXImporter.importModel(contentsOf: URL(filePath: "resnet18.onnx"))
/// let model = try Model(graph: graph, metadata: metadata)
/// ```
///
/// The importer reads default-domain opsets ``supportedOpsets``, turns `Constant` nodes and graph
/// inputs that have initializers into constants, keeps named (`dim_param`) dimensions symbolic, and
/// reads weights stored in external-data files next to the model. A model that uses operators Kiln
/// does not implement fails with one ``ONNXImportError/unsupportedOperators(_:)`` listing all of them.
public enum ONNXImporter {
    /// The default-domain ONNX opsets Kiln imports.
    public static var supportedOpsets: ClosedRange<Int> { ONNXGraphConverter.supportedOpsets }

    /// Imports the ONNX model in the file at `url`; external-data files are looked up next to it.
    /// - Parameter url: A `.onnx` file.
    /// - Returns: The validated, type-inferred graph and the model's metadata (producer, doc string
    ///   as description, graph name as name, `metadata_props` as properties).
    /// - Throws: ``ONNXImportError``.
    public static func importModel(contentsOf url: URL) throws(ONNXImportError) -> (graph: Graph, metadata: ModelMetadata) {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw .unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        return try importModel(data: data, baseDirectory: url.deletingLastPathComponent())
    }

    /// Imports an ONNX model held in memory.
    /// - Parameters:
    ///   - data: The serialized `ModelProto`.
    ///   - baseDirectory: The folder external-data locations are relative to; nil when the model
    ///     has none (a model that needs external data then fails with an error).
    /// - Returns: The validated, type-inferred graph and the model's metadata.
    /// - Throws: ``ONNXImportError``.
    public static func importModel(data: Data, baseDirectory: URL? = nil) throws(ONNXImportError)
        -> (graph: Graph, metadata: ModelMetadata)
    {
        try importModel(decode(data), baseDirectory: baseDirectory)
    }

    /// Imports a decoded `ModelProto`: converts it, rejects unsupported operators (all listed at
    /// once) and runs Kiln's validation and type inference.
    package static func importModel(_ proto: Onnx_ModelProto, baseDirectory: URL?) throws(ONNXImportError)
        -> (graph: Graph, metadata: ModelMetadata)
    {
        let converter = ONNXGraphConverter(model: proto, baseDirectory: baseDirectory)
        guard proto.hasGraph else { throw .missingGraph }
        _ = try converter.opsetImports()
        // Checked before conversion so that an unsupported operator is reported as such rather than
        // through a side effect such as its subgraph attribute.
        let unsupported = unsupportedOperators(in: proto.graph)
        guard unsupported.isEmpty else { throw .unsupportedOperators(unsupported) }
        let (graph, metadata) = try converter.convert()
        let model: Model
        do {
            model = try Model(graph: graph, metadata: metadata)
        } catch let error as GraphError {
            throw .invalidGraph(error)
        } catch {
            throw .modelRejected(reason: "\(error)")
        }
        return (model.graph, model.metadata)
    }

    /// Parses the protobuf bytes of a `ModelProto`.
    package static func decode(_ data: Data) throws(ONNXImportError) -> Onnx_ModelProto {
        var options = BinaryDecodingOptions()
        options.discardUnknownFields = true
        do {
            return try Onnx_ModelProto(serializedBytes: data, options: options)
        } catch {
            throw .malformedModel(reason: describe(error))
        }
    }

    /// Every operator type in `graph` Kiln does not implement, in order of first use. `Constant` is
    /// not an operator here: the importer turns it into an initializer.
    package static func unsupportedOperators(in graph: Onnx_GraphProto) -> [UnsupportedOperator] {
        let names = ONNXGraphConverter.uniqueNodeNames(graph.node)
        var found: [UnsupportedOperator] = []
        var position: [String: Int] = [:]
        for (index, node) in graph.node.enumerated() {
            let domain = ONNXGraphConverter.normalizedDomain(node.domain)
            if domain.isEmpty && node.opType == "Constant" { continue }
            guard OperatorRegistry.lookup(opType: node.opType, domain: domain) == nil else { continue }
            let key = "\(domain)\u{0}\(node.opType)"
            if let existing = position[key] {
                found[existing].count += 1
            } else {
                position[key] = found.count
                found.append(UnsupportedOperator(opType: node.opType, domain: domain, count: 1, firstNode: names[index]))
            }
        }
        return found
    }

    private static func describe(_ error: any Error) -> String {
        guard let decodingError = error as? BinaryDecodingError else { return "\(error)" }
        switch decodingError {
        case .truncated: return "the data ends in the middle of a field (truncated file?)"
        case .malformedProtobuf: return "the bytes are not a protobuf message (corrupt file, or not ONNX?)"
        case .invalidUTF8: return "a string field is not valid UTF-8"
        case .messageDepthLimit: return "messages are nested too deeply"
        default: return "\(decodingError)"
        }
    }
}
