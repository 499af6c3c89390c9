import Kiln
import Testing

@Suite struct AllocationLimitTests {
    @Test func refusesTensorsLargerThanMemory() throws {
        let shape = [1 << 20, 1 << 20]  // 4 TiB of float32
        #expect(throws: ShapeError.exceedsMemory(shape: shape, bytes: 1 << 42, limit: ShapeArithmetic.allocationLimit)) {
            try Tensor(zeros: .float32, shape: shape)
        }
    }

    @Test func modelAskingForAHugeTensorFailsWithAnError() throws {
        var builder = GraphBuilder()
        let shape = builder.input("shape", .int64, [2])
        builder.output(builder.node("ConstantOfShape", [shape]), as: "y")
        let session = try InferenceSession(model: Model(graph: builder.build()), options: .init(threads: 1))
        let hostile = try Tensor(shape: [2], scalars: [1 << 20, 1 << 20] as [Int64])
        #expect(throws: SessionError.self) { try session.run(["shape": hostile]) }
    }
}
