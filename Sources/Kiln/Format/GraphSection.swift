/// Where an initializer's bytes live in the tensor data section.
package struct TensorPlacement: Sendable {
    package var offset: Int
    package var length: Int
}

/// How decoded initializers get their bytes.
package enum TensorBacking {
    /// Borrow them in place; `owner` (the mapped file) keeps them alive. Zero copy.
    case borrow(owner: AnyObject)
    /// Copy them into owned, aligned tensors (bytes that came from an array).
    case copy
}

/// Encoding of a ``Graph`` in the graph section (Docs/FORMAT.md, "Graph section").
package enum GraphSection {
    // Smallest encodings, used to bound array counts by the bytes left before reserving memory.
    private static let minimumOpsetSize = 4 + 8
    private static let minimumValueInfoSize = 4 + 1 + 1
    private static let minimumDimSize = 1 + 4
    private static let minimumInitializerSize = 4 + 1 + 4 + 8 + 8
    private static let minimumNodeSize = 4 * 6
    private static let minimumAttributeSize = 4 + 1 + 4

    // MARK: Encoding

    /// Encodes `graph`; initializer bytes are not included, only their `placements` in the data
    /// section (keyed by initializer name).
    package static func encode(_ graph: Graph, placements: [String: TensorPlacement]) throws(FormatError) -> [UInt8] {
        var writer = ByteWriter()
        try writer.string(graph.name, what: "the graph name")
        try writer.count(graph.opsetImports.count, of: "the opset import count")
        for domain in graph.opsetImports.keys.sorted() {
            let version = graph.opsetImports[domain] ?? 0
            guard version >= 1 else { throw .unwritable(reason: "opset version \(version) of domain '\(domain)' is below 1") }
            try writer.string(domain, what: "an opset domain")
            writer.i64(Int64(version))
        }
        for (values, what) in [(graph.inputs, "input"), (graph.outputs, "output")] {
            try writer.count(values.count, of: "the graph \(what) count")
            for value in values { try encode(value, into: &writer) }
        }
        try writer.count(graph.initializers.count, of: "the initializer count")
        for name in graph.initializers.keys.sorted() {
            guard let tensor = graph.initializers[name], let placement = placements[name] else { continue }
            try writer.string(name, what: "an initializer name")
            writer.u8(tensor.dtype.rawValue)
            try encodeShape(tensor.shape, into: &writer)
            writer.u64(UInt64(placement.offset))
            writer.u64(UInt64(placement.length))
        }
        try writer.count(graph.nodes.count, of: "the node count")
        for node in graph.nodes {
            try writer.string(node.name, what: "a node name")
            try writer.string(node.opType, what: "node '\(node.name)' op type")
            try writer.string(node.domain, what: "node '\(node.name)' domain")
            for (names, what) in [(node.inputs, "inputs"), (node.outputs, "outputs")] {
                try writer.count(names.count, of: "node '\(node.name)' \(what)")
                for name in names { try writer.string(name, what: "a value name in node '\(node.name)'") }
            }
            try writer.count(node.attributes.count, of: "node '\(node.name)' attributes")
            for key in node.attributes.keys.sorted() {
                guard let attribute = node.attributes[key] else { continue }
                try writer.string(key, what: "an attribute name")
                try encode(attribute, into: &writer, what: "attribute '\(key)' of node '\(node.name)'")
            }
        }
        return writer.bytes
    }

    private static func encode(_ value: ValueInfo, into writer: inout ByteWriter) throws(FormatError) {
        try writer.string(value.name, what: "a value name")
        writer.u8(value.type.dtype.rawValue)
        guard let shape = value.type.shape else {
            writer.u8(0)
            return
        }
        writer.u8(1)
        try writer.count(shape.count, of: "the rank of '\(value.name)'")
        for dim in shape {
            switch dim {
            case .fixed(let size):
                guard size >= 0 else { throw .unwritable(reason: "value '\(value.name)' has a negative dim (\(size))") }
                writer.u8(DimTag.fixed.rawValue)
                writer.i64(Int64(size))
            case .symbolic(let symbol):
                writer.u8(DimTag.symbolic.rawValue)
                try writer.string(symbol, what: "a dim symbol")
            }
        }
    }

    private static func encodeShape(_ shape: [Int], into writer: inout ByteWriter) throws(FormatError) {
        try writer.count(shape.count, of: "a tensor rank")
        for dim in shape { writer.i64(Int64(dim)) }
    }

    private static func encode(_ attribute: Attribute, into writer: inout ByteWriter, what: String) throws(FormatError) {
        switch attribute {
        case .int(let value):
            writer.u8(AttributeTag.int.rawValue)
            writer.i64(Int64(value))
        case .float(let value):
            writer.u8(AttributeTag.float.rawValue)
            writer.f32(value)
        case .string(let value):
            writer.u8(AttributeTag.string.rawValue)
            try writer.string(value, what: what)
        case .tensor(let tensor):
            writer.u8(AttributeTag.tensor.rawValue)
            writer.u8(tensor.dtype.rawValue)
            try encodeShape(tensor.shape, into: &writer)
            writer.u64(UInt64(tensor.byteCount))
            tensor.withUnsafeBytes { writer.raw($0) }
        case .ints(let values):
            writer.u8(AttributeTag.ints.rawValue)
            try writer.count(values.count, of: what)
            for value in values { writer.i64(Int64(value)) }
        case .floats(let values):
            writer.u8(AttributeTag.floats.rawValue)
            try writer.count(values.count, of: what)
            for value in values { writer.f32(value) }
        case .strings(let values):
            writer.u8(AttributeTag.strings.rawValue)
            try writer.count(values.count, of: what)
            for value in values { try writer.string(value, what: what) }
        }
    }

    // MARK: Decoding

    /// Decodes the graph section. Initializers are resolved against `tensorData`, the tensor data
    /// section (starting at file offset `tensorDataOffset`).
    package static func decode(_ reader: inout ByteReader, tensorData: UnsafeRawBufferPointer, tensorDataOffset: Int,
                               backing: TensorBacking, allowTrailingBytes: Bool) throws(FormatError) -> Graph {
        let name = try reader.string()

        let opsetCount = try reader.arrayCount(minimumElementSize: minimumOpsetSize)
        var opsetImports: [String: Int] = [:]
        opsetImports.reserveCapacity(opsetCount)
        for _ in 0..<opsetCount {
            let start = reader.position
            let domain = try reader.string()
            let version = try reader.i64()
            guard version >= 1 else { throw reader.invalid("opset version \(version) for domain '\(domain)' must be at least 1", at: start) }
            guard opsetImports.updateValue(Int(version), forKey: domain) == nil else {
                throw reader.invalid("opset domain '\(domain)' is imported twice", at: start)
            }
        }

        let inputs = try decodeValueInfos(&reader)
        let outputs = try decodeValueInfos(&reader)

        let initializerCount = try reader.arrayCount(minimumElementSize: minimumInitializerSize)
        var initializers: [String: Tensor] = [:]
        initializers.reserveCapacity(initializerCount)
        for _ in 0..<initializerCount {
            let start = reader.position
            let name = try reader.string()
            let (dtype, shape, byteCount) = try decodeTensorType(&reader, what: "initializer '\(name)'")
            let offsetPosition = reader.position
            let offset = try reader.length("the offset of initializer '\(name)'")
            let length = try reader.length("the length of initializer '\(name)'")
            guard length == byteCount else {
                throw reader.invalid("initializer '\(name)' is \(dtype)\(shape) = \(byteCount) bytes, but its length says \(length)", at: offsetPosition)
            }
            guard offset % FormatLayout.tensorAlignment == 0 else {
                throw reader.invalid("initializer '\(name)' starts at data offset \(offset), not a multiple of \(FormatLayout.tensorAlignment)", at: offsetPosition)
            }
            guard offset <= tensorData.count, length <= tensorData.count - offset else {
                throw reader.invalid("initializer '\(name)' (data bytes \(offset)..<\(offset &+ length)) lies outside the \(tensorData.count)-byte tensor data section", at: offsetPosition)
            }
            let bytes = UnsafeRawBufferPointer(rebasing: tensorData[offset..<(offset + length)])
            if dtype == .bool {
                try checkBools(bytes, section: "tensor data", fileOffset: tensorDataOffset + offset, what: "initializer '\(name)'")
            }
            let tensor = try makeTensor(dtype: dtype, shape: shape, bytes: bytes, backing: backing)
            guard initializers.updateValue(tensor, forKey: name) == nil else {
                throw reader.invalid("initializer '\(name)' appears twice", at: start)
            }
        }

        let nodeCount = try reader.arrayCount(minimumElementSize: minimumNodeSize)
        var nodes: [Node] = []
        nodes.reserveCapacity(nodeCount)
        for _ in 0..<nodeCount {
            nodes.append(try decodeNode(&reader))
        }
        if !allowTrailingBytes && !reader.isAtEnd {
            throw reader.invalid("\(reader.remaining) unexpected bytes after the graph")
        }
        return Graph(name: name, inputs: inputs, outputs: outputs, initializers: initializers, nodes: nodes,
                     opsetImports: opsetImports)
    }

    private static func decodeValueInfos(_ reader: inout ByteReader) throws(FormatError) -> [ValueInfo] {
        let count = try reader.arrayCount(minimumElementSize: minimumValueInfoSize)
        var values: [ValueInfo] = []
        values.reserveCapacity(count)
        for _ in 0..<count {
            let name = try reader.string()
            let dtype = try decodeDType(&reader)
            guard try reader.flag("the has-shape flag of '\(name)'") else {
                values.append(ValueInfo(name: name, type: TensorType(dtype, nil)))
                continue
            }
            let rank = try reader.arrayCount(minimumElementSize: minimumDimSize)
            var shape: [Dim] = []
            shape.reserveCapacity(rank)
            for _ in 0..<rank {
                let tagPosition = reader.position
                switch DimTag(rawValue: try reader.u8()) {
                case .fixed:
                    let size = try reader.i64()
                    guard size >= 0 else { throw reader.invalid("dim of '\(name)' is negative (\(size))", at: tagPosition) }
                    shape.append(.fixed(Int(size)))
                case .symbolic:
                    shape.append(.symbolic(try reader.string()))
                case nil:
                    throw reader.invalid("unknown dim tag in the shape of '\(name)'", at: tagPosition)
                }
            }
            values.append(ValueInfo(name: name, type: TensorType(dtype, shape)))
        }
        return values
    }

    private static func decodeDType(_ reader: inout ByteReader) throws(FormatError) -> DType {
        let start = reader.position
        let raw = try reader.u8()
        guard let dtype = DType(rawValue: raw) else { throw reader.invalid("unknown dtype code \(raw)", at: start) }
        return dtype
    }

    /// Reads `dtype, array<i64> shape` and returns the byte count it implies.
    private static func decodeTensorType(_ reader: inout ByteReader, what: String) throws(FormatError) -> (DType, [Int], Int) {
        let dtype = try decodeDType(&reader)
        let shapeStart = reader.position
        let rank = try reader.arrayCount(minimumElementSize: 8)
        var shape: [Int] = []
        shape.reserveCapacity(rank)
        for _ in 0..<rank { shape.append(Int(try reader.i64())) }
        do {
            return (dtype, shape, try ShapeArithmetic.byteCount(shape, dtype: dtype))
        } catch {
            throw reader.invalid("\(what): \(error)", at: shapeStart)
        }
    }

    private static func decodeNode(_ reader: inout ByteReader) throws(FormatError) -> Node {
        let name = try reader.string()
        let opType = try reader.string()
        let domain = try reader.string()
        let inputs = try decodeStrings(&reader)
        let outputs = try decodeStrings(&reader)
        let attributeCount = try reader.arrayCount(minimumElementSize: minimumAttributeSize)
        var attributes: [String: Attribute] = [:]
        attributes.reserveCapacity(attributeCount)
        for _ in 0..<attributeCount {
            let start = reader.position
            let key = try reader.string()
            let attribute = try decodeAttribute(&reader, what: "attribute '\(key)' of node '\(name)'")
            guard attributes.updateValue(attribute, forKey: key) == nil else {
                throw reader.invalid("node '\(name)' has attribute '\(key)' twice", at: start)
            }
        }
        return Node(name: name, opType: opType, domain: domain, inputs: inputs, outputs: outputs, attributes: attributes)
    }

    private static func decodeStrings(_ reader: inout ByteReader) throws(FormatError) -> [String] {
        let count = try reader.arrayCount(minimumElementSize: 4)
        var strings: [String] = []
        strings.reserveCapacity(count)
        for _ in 0..<count { strings.append(try reader.string()) }
        return strings
    }

    private static func decodeAttribute(_ reader: inout ByteReader, what: String) throws(FormatError) -> Attribute {
        let tagPosition = reader.position
        let raw = try reader.u8()
        guard let tag = AttributeTag(rawValue: raw) else {
            throw reader.invalid("\(what) has unknown kind \(raw)", at: tagPosition)
        }
        switch tag {
        case .int:
            return .int(Int(try reader.i64()))
        case .float:
            return .float(try reader.f32())
        case .string:
            return .string(try reader.string())
        case .tensor:
            let (dtype, shape, byteCount) = try decodeTensorType(&reader, what: what)
            let lengthPosition = reader.position
            let length = try reader.length("the length of \(what)")
            guard length == byteCount else {
                throw reader.invalid("\(what) is \(dtype)\(shape) = \(byteCount) bytes, but its length says \(length)", at: lengthPosition)
            }
            let dataOffset = reader.currentOffset
            let bytes = try reader.bytes(length)
            if dtype == .bool { try checkBools(bytes, section: reader.section, fileOffset: dataOffset, what: what) }
            return .tensor(try makeTensor(dtype: dtype, shape: shape, bytes: bytes, backing: .copy))
        case .ints:
            let count = try reader.arrayCount(minimumElementSize: 8)
            var values: [Int] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(Int(try reader.i64())) }
            return .ints(values)
        case .floats:
            let count = try reader.arrayCount(minimumElementSize: 4)
            var values: [Float] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try reader.f32()) }
            return .floats(values)
        case .strings:
            return .strings(try decodeStrings(&reader))
        }
    }

    /// Swift's `Bool` must be 0 or 1, and mapped bytes cannot be fixed in place: refuse others.
    private static func checkBools(_ bytes: UnsafeRawBufferPointer, section: String, fileOffset: Int, what: String) throws(FormatError) {
        if let bad = bytes.firstIndex(where: { $0 > 1 }) {
            throw .invalidValue(section: section, offset: fileOffset + bad,
                                reason: "\(what) is a bool tensor but holds the byte \(bytes[bad]) (only 0 and 1 are allowed)")
        }
    }

    private static func makeTensor(dtype: DType, shape: [Int], bytes: UnsafeRawBufferPointer,
                                   backing: TensorBacking) throws(FormatError) -> Tensor {
        if case .borrow(let owner) = backing, let base = bytes.baseAddress {
            let storage = TensorStorage(borrowing: base, byteCount: bytes.count, owner: owner)
            return Tensor(dtype: dtype, shape: shape, count: bytes.count / dtype.byteSize, storage: storage)
        }
        do {
            return try Tensor(dtype: dtype, shape: shape, bytes: bytes)
        } catch {
            // Unreachable: the byte count was checked against the shape by the caller.
            throw .invalidValue(section: "graph", offset: 0, reason: "\(error)")
        }
    }
}
