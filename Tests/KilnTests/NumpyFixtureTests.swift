import Kiln
import Testing

/// The stretch operators against numpy (fixtures from Tests/Generators/shape_fixtures.py), in
/// float32 and, for operators that only move elements, in other dtypes too.
@Suite struct NumpyFixtureTests {
    static func cases(_ prefix: String) -> [FixtureCase] {
        ShapeOperatorFixtures.cases.filter { $0.op == prefix || $0.op.hasPrefix(prefix + ".") }
    }

    /// The fixture's numbers as a tensor of `dtype` (they are small integers or exact in every dtype used).
    static func tensor(_ values: [Double], shape: [Int], dtype: DType) throws -> Tensor {
        switch dtype {
        case .float32: return try Tensor(shape: shape, scalars: values.map { Float($0) })
        case .float16: return try Tensor(shape: shape, scalars: values.map { Float16(Float($0)) })
        case .int64: return try Tensor(shape: shape, scalars: values.map { Int64($0) })
        case .int32: return try Tensor(shape: shape, scalars: values.map { Int32($0) })
        case .int8: return try Tensor(shape: shape, scalars: values.map { Int8($0) })
        case .uint8: return try Tensor(shape: shape, scalars: values.map { UInt8($0) })
        case .bool: return try Tensor(shape: shape, scalars: values.map { $0 != 0 })
        }
    }

    static func input(_ fixture: FixtureCase, _ dtype: DType = .float32) throws -> Tensor {
        try tensor(fixture.input, shape: fixture.inputShape, dtype: dtype)
    }

    /// Checks `outputs` against the fixture, converting the expected numbers to each output's dtype.
    static func check(_ outputs: [Tensor], _ fixture: FixtureCase, _ label: String) throws {
        #expect(outputs.count >= fixture.outputs.count, "\(label): output count")
        for (index, output) in outputs.prefix(fixture.outputs.count).enumerated() {
            let expected = try tensor(fixture.outputs[index], shape: fixture.outputShapes[index], dtype: output.dtype)
            #expect(output.shape == expected.shape, "\(label) output \(index) shape")
            #expect(DataMovement.bytes(output) == DataMovement.bytes(expected), "\(label) output \(index)")
        }
    }

    private func suffix(_ fixture: FixtureCase) -> String {
        String(fixture.op.split(separator: ".").dropFirst().first ?? "")
    }

    @Test func padMatchesNumpy() throws {
        for (index, fixture) in Self.cases("Pad").enumerated() {
            let op = try DataMovement.op(Pad.self, inputs: 4, attributes: ["mode": .string(suffix(fixture))])
            for dtype in [DType.float32, .int64, .float16, .int32] {
                let inputs: [Tensor?] = [try Self.input(fixture, dtype), try DataMovement.int64s(fixture.ints["pads"]!),
                                         try Self.tensor([-1], shape: [], dtype: dtype),
                                         try fixture.ints["axes"].map { try DataMovement.int64s($0) }]
                try Self.check(try DataMovement.run(op, inputs), fixture, "Pad case \(index) \(fixture.op) \(dtype)")
            }
            let type = try DataMovement.infer(op, [InferenceInput(type: TensorType(.float32, [Dim](fixture.inputShape))),
                                                   DataMovement.constant(try DataMovement.int64s(fixture.ints["pads"]!)),
                                                   .absent, try fixture.ints["axes"].map { DataMovement.constant(try DataMovement.int64s($0)) } ?? .absent])
            #expect(type == [TensorType(.float32, [Dim](fixture.outputShapes[0]))])
        }
    }

    @Test func tileMatchesNumpy() throws {
        for fixture in Self.cases("Tile") {
            for dtype in [DType.float32, .uint8, .float16, .int64] {
                let outputs = try DataMovement.run(DataMovement.op(Tile.self, inputs: 2),
                                                   [try Self.input(fixture, dtype), try DataMovement.int64s(fixture.ints["repeats"]!)])
                try Self.check(outputs, fixture, "Tile \(fixture.inputShape) \(dtype)")
            }
        }
    }

    @Test func depthToSpaceAndSpaceToDepthMatchNumpy() throws {
        for fixture in Self.cases("DepthToSpace") + Self.cases("SpaceToDepth") {
            var attributes: [String: Attribute] = ["blocksize": .int(fixture.ints["blocksize"]![0])]
            let op: any Operator
            if fixture.op == "SpaceToDepth" {
                op = try DataMovement.op(SpaceToDepth.self, inputs: 1, attributes: attributes)
            } else {
                attributes["mode"] = .string(suffix(fixture))
                op = try DataMovement.op(DepthToSpace.self, inputs: 1, attributes: attributes)
            }
            for dtype in [DType.float32, .float16, .int64] {
                try Self.check(try DataMovement.run(op, [try Self.input(fixture, dtype)]), fixture, "\(fixture.op) \(fixture.inputShape) \(dtype)")
            }
            let inferred = try DataMovement.infer(op, [InferenceInput(type: TensorType(.float32, [Dim](fixture.inputShape)))])
            #expect(inferred == [TensorType(.float32, [Dim](fixture.outputShapes[0]))])
        }
    }

    @Test func triluMatchesNumpy() throws {
        for fixture in Self.cases("Trilu") {
            let op = try DataMovement.op(Trilu.self, inputs: 2, attributes: ["upper": .int(fixture.ints["upper"]![0])])
            for dtype in [DType.float32, .int8, .float16, .int64] {
                let outputs = try DataMovement.run(op, [try Self.input(fixture, dtype), Tensor(scalar: Int64(fixture.ints["k"]![0]))])
                try Self.check(outputs, fixture, "Trilu \(fixture.inputShape) \(fixture.ints) \(dtype)")
            }
        }
    }

    @Test func topKMatchesNumpyStableOrder() throws {
        for fixture in Self.cases("TopK") {
            let op = try DataMovement.op(TopK.self, inputs: 2, outputs: 2,
                                         attributes: ["axis": .int(fixture.ints["axis"]![0]), "largest": .int(fixture.ints["largest"]![0])])
            for dtype in [DType.float32, .float16, .int32, .int64, .int8] {
                let outputs = try DataMovement.run(op, [try Self.input(fixture, dtype), try DataMovement.int64s(fixture.ints["k"]!)])
                try Self.check(outputs, fixture, "TopK \(fixture.inputShape) \(fixture.ints) \(dtype)")
                #expect(outputs[1].dtype == .int64)
            }
        }
    }

    @Test func cumSumMatchesNumpy() throws {
        for fixture in Self.cases("CumSum") {
            let op = try DataMovement.op(CumSum.self, inputs: 2, attributes: ["exclusive": .int(fixture.ints["exclusive"]![0]),
                                                                              "reverse": .int(fixture.ints["reverse"]![0])])
            for dtype in [DType.float32, .float16, .int32, .int64] {
                let axis = fixture.ints["axis"]![0]
                let axisTensor = dtype == .int32 ? try DataMovement.int32s([axis]) : Tensor(scalar: Int64(axis))
                let outputs = try DataMovement.run(op, [try Self.input(fixture, dtype), axisTensor])
                try Self.check(outputs, fixture, "CumSum \(fixture.inputShape) \(fixture.ints) \(dtype)")
            }
        }
    }

    @Test func gatherElementsMatchesNumpyAndReference() throws {
        for fixture in Self.cases("GatherElements") {
            let op = try DataMovement.op(GatherElements.self, inputs: 2, attributes: ["axis": .int(fixture.ints["axis"]![0])])
            let indexShape = fixture.ints["indexShape"]!
            for (dtype, indices) in [(DType.float32, try DataMovement.int64s(fixture.ints["indices"]!, shape: indexShape)),
                                     (.int8, try DataMovement.int32s(fixture.ints["indices"]!, shape: indexShape)),
                                     (.float16, try DataMovement.int64s(fixture.ints["indices"]!, shape: indexShape))] {
                let data = try Self.input(fixture, dtype)
                let outputs = try DataMovement.run(op, [data, indices])
                try Self.check(outputs, fixture, "GatherElements \(fixture.inputShape) \(dtype)")
                let reference = try Tensor.uninitialized(dtype, shape: indexShape)
                let axis = (fixture.ints["axis"]![0] + data.rank) % data.rank
                GatherKernels.gatherElementsReference(data: data, indices: indices, axis: axis, into: reference)
                #expect(DataMovement.bytes(reference) == DataMovement.bytes(outputs[0]))
            }
        }
    }

    @Test func scatterNDMatchesNumpy() throws {
        for fixture in Self.cases("ScatterND") {
            let reduction = suffix(fixture)
            let op = try DataMovement.op(ScatterND.self, inputs: 3, attributes: ["reduction": .string(reduction)])
            let dtypes: [DType] = reduction == "none" ? [.float32, .int64, .float16, .int8] : [.float32, .int64, .int32]
            for dtype in dtypes {
                let indices = try DataMovement.int64s(fixture.ints["indices"]!, shape: fixture.ints["indexShape"]!)
                let updates = try Self.tensor(fixture.ints["updates"]!.map(Double.init), shape: fixture.ints["updateShape"]!, dtype: dtype)
                let outputs = try DataMovement.run(op, [try Self.input(fixture, dtype), indices, updates])
                try Self.check(outputs, fixture, "ScatterND \(reduction) \(fixture.inputShape) \(dtype)")
            }
        }
    }

    @Test func oneHotMatchesNumpy() throws {
        for fixture in Self.cases("OneHot") {
            let op = try DataMovement.op(OneHot.self, inputs: 3, attributes: ["axis": .int(fixture.ints["axis"]![0])])
            for (indexType, valueType) in [(DType.int64, DType.float32), (.float32, .int64), (.int32, .int8)] {
                let inputs: [Tensor?] = [try Self.input(fixture, indexType), Tensor(scalar: Int64(fixture.ints["depth"]![0])),
                                         try Self.tensor([2, 7], shape: [2], dtype: valueType)]
                try Self.check(try DataMovement.run(op, inputs), fixture, "OneHot \(fixture.input) \(indexType) -> \(valueType)")
            }
            let inferred = try DataMovement.infer(op, [InferenceInput(type: TensorType(.int64, [Dim](fixture.inputShape))),
                                                       DataMovement.constant(Tensor(scalar: Int64(fixture.ints["depth"]![0]))),
                                                       InferenceInput(type: TensorType(.float16, [2]))])
            #expect(inferred == [TensorType(.float16, [Dim](fixture.outputShapes[0]))])
        }
    }

    @Test func splitMatchesNumpy() throws {
        for fixture in Self.cases("Split") {
            let count = fixture.ints["outputs"]![0]
            let axis = fixture.ints["axis"]![0]
            let withInput = try DataMovement.op(Split.self, inputs: fixture.ints["split"] == nil ? 1 : 2, outputs: count,
                                                attributes: ["axis": .int(axis)])
            var inputs: [Tensor?] = [try Self.input(fixture, .int32)]
            if let split = fixture.ints["split"] { inputs.append(try DataMovement.int64s(split)) }
            try Self.check(try DataMovement.run(withInput, inputs), fixture, "Split \(fixture.inputShape) \(fixture.ints)")
            // The opset 18 num_outputs form and the opset 11 attribute form give the same parts.
            if let split = fixture.ints["split"] {
                let old = try DataMovement.op(Split.self, inputs: 1, outputs: count, attributes: ["axis": .int(axis), "split": .ints(split)], opset: 11)
                try Self.check(try DataMovement.run(old, [try Self.input(fixture, .float16)]), fixture, "Split opset 11 \(fixture.ints)")
            } else {
                let counted = try DataMovement.op(Split.self, inputs: 1, outputs: count, attributes: ["axis": .int(axis), "num_outputs": .int(count)])
                try Self.check(try DataMovement.run(counted, [try Self.input(fixture)]), fixture, "Split num_outputs \(fixture.ints)")
            }
            let types = try DataMovement.infer(withInput, [InferenceInput(type: TensorType(.float32, [Dim](fixture.inputShape)))]
                                                + (fixture.ints["split"].map { [DataMovement.constant(try DataMovement.int64s($0))] } ?? []))
            #expect(types.map(\.shape) == fixture.outputShapes.map { [Dim]($0) })
        }
    }

    @Test func nonZeroMatchesNumpy() throws {
        for fixture in Self.cases("NonZero") {
            for dtype in [DType.float32, .float16, .int64, .int32, .int8] {
                try Self.check(try DataMovement.run(DataMovement.op(NonZero.self, inputs: 1), [try Self.input(fixture, dtype)]),
                               fixture, "NonZero \(fixture.inputShape) \(dtype)")
            }
        }
    }
}
