// Writes the seed corpus of the reader fuzzer (Fuzz/corpus/*.kiln): a few tiny valid files.
// Built and run by Scripts/fuzz-reader.sh --make-corpus with the Kiln sources; not part of the package.
import Foundation

@main
struct MakeCorpus {
    static func main() throws {
        let folder = URL(fileURLWithPath: CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "Fuzz/corpus")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, model) in try models() {
            try model.write(to: folder.appendingPathComponent("\(name).kiln"))
        }
        // The same file stamped 1.1: a newer minor a 1.0 reader accepts (trailing fields allowed).
        var future = try models()[0].1.serialized()
        future[10] = 1
        KilnFileReader.resealChecksums(&future)
        try Data(future).write(to: folder.appendingPathComponent("newer-minor.kiln"))
    }

    static func models() throws -> [(String, Model)] {
        var relu = GraphBuilder(name: "relu")
        relu.output(relu.node("Relu", [relu.input("x", .float32, ["batch", 3])]), as: "y")

        var weights = GraphBuilder(name: "weights", opset: 13)
        let x = weights.input("x", .float32, [2])
        let attributes: [String: Attribute] = [
            "i": .int(-3), "f": .float(0.25), "s": .string("text"), "is": .ints([1, 2]),
            "fs": .floats([1.5]), "ss": .strings(["a", "b"]),
            "t": .tensor(try Tensor(shape: [2], scalars: [true, false])),
        ]
        weights.output(weights.node("Relu", [x], attributes: attributes), as: "y")
        let tensors: [Tensor] = [
            try Tensor(shape: [2, 2], scalars: [1, -2, 3, -4] as [Float]),
            try Tensor(shape: [3], scalars: [1, 2, 3] as [Int64]),
            try Tensor(shape: [2], scalars: [true, false]),
            try Tensor(shape: [1], scalars: [7] as [Int8]),
            try Tensor(shape: [2], scalars: [1, 2] as [Float16]),
            try Tensor(zeros: .uint8, shape: [0]),
        ]
        for (index, tensor) in tensors.enumerated() {
            let value = weights.constant(tensor, name: "w\(index)")
            weights.output(weights.node("Identity", [value]), as: "out\(index)")
        }
        let metadata = ModelMetadata(name: "weights", description: "fuzz seed", properties: ["k": "v"])
        return [("relu", try Model(graph: relu.build())),
                ("weights", try Model(graph: weights.build(), metadata: metadata))]
    }
}
