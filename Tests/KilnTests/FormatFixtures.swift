@testable import Kiln
import Foundation
import Testing

/// Models and helpers shared by the `.kiln` format tests.
enum FormatFixtures {
    /// One initializer of every dtype (with edge values), an empty and a scalar tensor, and a node
    /// carrying every attribute kind. Every initializer is routed to an output through Identity so a
    /// session returns its bytes.
    static func sampleModel() throws -> Model {
        var builder = GraphBuilder(name: "sample graph", opset: 17)
        let x = builder.input("x", .float32, ["batch", 3])
        let z = builder.input("z", .int64, [])
        let relu = builder.node("Relu", [x], attributes: [
            "an_int": .int(-7),
            "a_float": .float(-1.5),
            "a_string": .string("héllo ✓"),
            "a_tensor": .tensor(try Tensor(shape: [3], scalars: [true, false, true])),
            "float_tensor": .tensor(try Tensor(shape: [2, 2], scalars: [1, -2, .nan, .infinity] as [Float])),
            "ints": .ints([1, -2, Int.max, Int.min]),
            "floats": .floats([0.5, -.infinity, .leastNonzeroMagnitude]),
            "strings": .strings(["a", "", "ü"]),
            "empty_ints": .ints([]),
        ], name: "relu")
        builder.output(relu, as: "y")
        builder.output(builder.node("Identity", [z], name: "pass z"), as: "z_out")
        for (name, tensor) in try sampleInitializers() {
            let value = builder.constant(tensor, name: name)
            builder.output(builder.node("Identity", [value], name: "id \(name)"), as: "out \(name)")
        }
        let metadata = ModelMetadata(name: "sample", description: "every dtype and attribute kind",
                                     producerName: "format tests", producerVersion: "9.9",
                                     properties: ["license": "MIT", "émoji": "🔥", "": "empty key"])
        var graph = try builder.build()
        // An input of unknown rank exercises the shapeless value encoding.
        graph.inputs[1].type.shape = nil
        return try Model(graph: graph, metadata: metadata)
    }

    static func sampleInitializers() throws -> [(String, Tensor)] {
        [
            ("float32", try Tensor(shape: [2, 3], scalars: [-1, 0.5, 3.25, -0.0, .infinity, 1e-30] as [Float])),
            ("float16", try Tensor(shape: [4], scalars: [1, -2, 0.5, 65504] as [Float16])),
            ("int64", try Tensor(shape: [2], scalars: [Int64.min, Int64.max])),
            ("int32", try Tensor(shape: [3], scalars: [-5, 0, Int32.max] as [Int32])),
            ("int8", try Tensor(shape: [2, 2], scalars: [-128, 127, 0, 1] as [Int8])),
            ("uint8", try Tensor(shape: [5], scalars: [0, 255, 1, 2, 3] as [UInt8])),
            ("bool", try Tensor(shape: [3], scalars: [true, false, true])),
            ("scalar", Tensor(scalar: Float(42))),
            ("empty", try Tensor(zeros: .float32, shape: [0, 4])),
        ]
    }

    /// A small model (one weight) for byte-by-byte torture tests.
    static func tinyModel() throws -> Model {
        var builder = GraphBuilder(name: "tiny")
        let x = builder.input("x", .float32, [2])
        let w = builder.constant(try Tensor(shape: [2], scalars: [1, -1] as [Float]), name: "w")
        builder.output(builder.node("Relu", [x], attributes: ["alpha": .float(0.5)]), as: "y")
        builder.output(builder.node("Identity", [w]), as: "w_out")
        return try Model(graph: builder.build(), metadata: ModelMetadata(name: "tiny"))
    }

    static func sameBytes(_ lhs: Tensor, _ rhs: Tensor) -> Bool {
        lhs.dtype == rhs.dtype && lhs.shape == rhs.shape
            && lhs.withUnsafeBytes { left in rhs.withUnsafeBytes { right in left.elementsEqual(right) } }
    }

    /// Attributes equal bit for bit (NaN included).
    static func sameAttribute(_ lhs: Attribute, _ rhs: Attribute) -> Bool {
        switch (lhs, rhs) {
        case (.int(let a), .int(let b)): return a == b
        case (.float(let a), .float(let b)): return a.bitPattern == b.bitPattern
        case (.string(let a), .string(let b)): return a == b
        case (.tensor(let a), .tensor(let b)): return sameBytes(a, b)
        case (.ints(let a), .ints(let b)): return a == b
        case (.floats(let a), .floats(let b)): return a.map(\.bitPattern) == b.map(\.bitPattern)
        case (.strings(let a), .strings(let b)): return a == b
        default: return false
        }
    }

    /// Inputs for ``sampleModel()``.
    static func sampleInputs() throws -> [String: Tensor] {
        ["x": try Tensor(shape: [2, 3], scalars: [-1, 2, -3, 4, 0, -0.5] as [Float]),
         "z": try Tensor(shape: [], scalars: [Int64(-9)])]
    }

    /// A fresh temporary folder, removed by the caller.
    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-format-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Builds `.kiln` files by hand, section by section, with correct checksums: for hostile-input tests
/// that must get past the checksums to the decoders.
struct HandBuiltFile {
    struct Section {
        var kind: UInt32
        var flags: UInt32 = 0
        var bytes: [UInt8]
        /// Overrides the offset the layout would choose.
        var offset: Int? = nil
        /// Overrides the length written in the table.
        var length: UInt64? = nil
    }

    var major: UInt16 = 1
    var minor: UInt16 = 0
    var flags: UInt32 = 0
    var sections: [Section]
    /// Overrides the section count in the header.
    var sectionCount: UInt32? = nil

    init(metadata: [UInt8] = HandBuiltFile.metadata(), graph: [UInt8] = HandBuiltFile.graph(), tensorData: [UInt8] = []) {
        sections = [Section(kind: 1, bytes: metadata), Section(kind: 2, bytes: graph), Section(kind: 3, bytes: tensorData)]
    }

    /// A metadata section: four strings and no properties.
    static func metadata(name: String = "hand built") -> [UInt8] {
        var writer = ByteWriter()
        for string in [name, "", "tests", "1"] { try? writer.string(string) }
        writer.u32(0)
        return writer.bytes
    }

    /// A graph section: name, the default opset, no inputs or outputs, then `initializers` and
    /// `nodes` (each already encoded, with their count first).
    static func graph(initializers: [UInt8] = [0, 0, 0, 0], nodes: [UInt8] = [0, 0, 0, 0],
                      valueInfos: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0]) -> [UInt8] {
        var writer = ByteWriter()
        try? writer.string("g")
        writer.u32(1)
        try? writer.string("")
        writer.i64(17)
        return writer.bytes + valueInfos + initializers + nodes
    }

    func bytes() -> [UInt8] {
        let count = sections.count
        var cursor = 64 + 32 * count
        var placed: [(offset: Int, section: Section)] = []
        for section in sections {
            var offset = section.offset ?? cursor
            if section.offset == nil && section.kind == 3 && !section.bytes.isEmpty {
                offset = (offset + 4095) / 4096 * 4096
            }
            placed.append((offset, section))
            cursor = max(cursor, offset + section.bytes.count)
        }
        var file = [UInt8](repeating: 0, count: cursor)
        var table = ByteWriter()
        for (offset, section) in placed {
            file.replaceSubrange(offset..<(offset + section.bytes.count), with: section.bytes)
            table.u32(section.kind)
            table.u32(section.flags)
            table.u64(UInt64(offset))
            table.u64(section.length ?? UInt64(section.bytes.count))
            table.u64(0)
        }
        file.replaceSubrange(64..<(64 + table.bytes.count), with: table.bytes)
        var header = ByteWriter()
        FormatLayout.magic.withUnsafeBytes { header.raw($0) }
        header.u32(UInt32(major) | UInt32(minor) << 16)
        header.u32(flags)
        header.u64(UInt64(file.count))
        header.u64(64)
        header.u32(sectionCount ?? UInt32(count))
        file.replaceSubrange(0..<header.bytes.count, with: header.bytes)
        KilnFileReader.resealChecksums(&file)
        return file
    }
}

extension ByteWriter {
    /// An initializer entry: name, dtype, shape, data offset and length.
    mutating func initializer(_ name: String, dtype: UInt8 = DType.float32.rawValue, shape: [Int64], offset: UInt64, length: UInt64) {
        try? string(name)
        u8(dtype)
        u32(UInt32(shape.count))
        for dim in shape { i64(dim) }
        u64(offset)
        u64(length)
    }
}
