import Kiln
import Testing

/// Errors, inference and large-size checks for Split, Tile, Pad, DepthToSpace, SpaceToDepth,
/// GatherElements and ScatterND (their values are checked against numpy in NumpyFixtureTests).
@Suite struct DataMovementOperatorTests {
    private let context = ExecutionContext(threads: 1)

    @Test func axisMapCopyMatchesReferenceInParallel() throws {
        for elementSize in [1, 2, 4, 8] {
            for inner in [1, 7, 16, 33, 300] {
                let sourceShape = [3, 41, inner]
                let maps = [[2, -1, 0, 1], (0..<60).map { $0 % 7 == 3 ? -1 : ($0 * 5) % 41 }, (0..<(inner + 9)).map { $0 < 3 ? -1 : ($0 - 3) % inner }]
                let count = sourceShape.reduce(1, *)
                let source = (0..<(count * elementSize)).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) }
                let fill: [UInt8] = [0xAB, 0xCD, 0xEF, 0x01, 0x23, 0x45, 0x67, 0x89]
                let outputCount = maps.map(\.count).reduce(1, *) * elementSize
                var fast = [UInt8](repeating: 0, count: outputCount), reference = fast
                source.withUnsafeBytes { input in
                    fill.withUnsafeBytes { value in
                        fast.withUnsafeMutableBytes {
                            AxisMapCopy.copy(source: input.baseAddress!, sourceShape: sourceShape, maps: maps, destination: $0.baseAddress!,
                                             fill: value.baseAddress!, elementSize: elementSize, context: ExecutionContext(threads: 2))
                        }
                        reference.withUnsafeMutableBytes {
                            AxisMapCopy.reference(source: input.baseAddress!, sourceShape: sourceShape, maps: maps, destination: $0.baseAddress!,
                                                  fill: value.baseAddress!, elementSize: elementSize)
                        }
                    }
                }
                #expect(fast == reference, "element size \(elementSize) inner \(inner)")
            }
        }
    }

    @Test func largeTileAndPadAgreeAcrossThreadCounts() throws {
        // DataMovement.run compares one and two threads; these sizes make the work split.
        let input = try DataMovement.tensor(.float32, [3, 70, 65])
        let tiled = try DataMovement.run(DataMovement.op(Tile.self, inputs: 2), [input, try DataMovement.int64s([2, 3, 2])])[0]
        #expect(tiled.shape == [6, 210, 130])
        let padded = try DataMovement.run(DataMovement.op(Pad.self, inputs: 2, attributes: ["mode": .string("reflect")]),
                                          [input, try DataMovement.int64s([0, 5, 7, 1, 6, 8])])[0]
        #expect(padded.shape == [4, 81, 80])
    }

    @Test func splitRejectsBadSizes() throws {
        let input = try DataMovement.iota([10])
        let op = try DataMovement.op(Split.self, inputs: 2, outputs: 2)
        #expect(DataMovement.operatorError { _ = try op.run([input, try DataMovement.int64s([3, 3])], context: context) }?
            .contains("add up to 6, the axis has size 10") == true)
        #expect(DataMovement.operatorError { _ = try op.run([input, try DataMovement.int64s([3, 3, 4])], context: context) }?
            .contains("3 values but the node has 2 outputs") == true)
        #expect(DataMovement.operatorError { _ = try op.run([input, try DataMovement.int64s([11, -1])], context: context) }?
            .contains("negative") == true)
        let four = try DataMovement.op(Split.self, inputs: 1, outputs: 4)
        // ceil(5 / 4) = 2 leaves -1 for the last part.
        #expect(DataMovement.operatorError { _ = try four.run([try DataMovement.iota([5])], context: context) }?.contains("cannot split") == true)
        #expect(DataMovement.operatorError { _ = try DataMovement.op(Split.self, inputs: 1, outputs: 2, attributes: ["num_outputs": .int(3)]) }?
            .contains("num_outputs is 3") == true)
        let types = try DataMovement.infer(DataMovement.op(Split.self, inputs: 1, outputs: 2, attributes: ["axis": .int(1)]),
                                           [InferenceInput(type: TensorType(.float32, ["batch", "seq", 8]))])
        #expect(types.count == 2 && types.allSatisfy { $0.shape?[0] == "batch" && $0.shape?[1].isFresh == true && $0.shape?[2] == 8 })
    }

    @Test func tileRejectsBadRepeatsAndInfersSymbols() throws {
        let op = try DataMovement.op(Tile.self, inputs: 2)
        let input = try DataMovement.iota([2, 3])
        #expect(DataMovement.operatorError { _ = try op.run([input, try DataMovement.int64s([2])], context: context) }?
            .contains("repeats has 1 values, the input has rank 2") == true)
        #expect(DataMovement.operatorError { _ = try op.run([input, try DataMovement.int64s([2, -1])], context: context) }?
            .contains("repeats value -1 at position 1") == true)
        let types = try DataMovement.infer(op, [InferenceInput(type: TensorType(.float32, ["batch", "seq", 4])),
                                                DataMovement.constant(try DataMovement.int64s([1, 2, 3]))])
        #expect(types[0].shape?[0] == "batch" && types[0].shape?[1].isFresh == true && types[0].shape?[2] == 12)
    }

    @Test func padRejectsBadPadsValuesAndModes() throws {
        let op = try DataMovement.op(Pad.self, inputs: 3)
        let input = try DataMovement.iota([2, 3])
        #expect(DataMovement.operatorError { _ = try op.run([input, try DataMovement.int64s([1, 1])], context: context) }?
            .contains("pads has 2 values, expected 4") == true)
        #expect(DataMovement.operatorError { _ = try op.run([input, try DataMovement.int64s([0, -2, 0, -2])], context: context) }?
            .contains("negative") == true)
        #expect(DataMovement.operatorError {
            _ = try op.run([input, try DataMovement.int64s([0, 1, 0, 1]), Tensor(scalar: Int64(1))], context: context)
        }?.contains("constant_value is int64") == true)
        let edge = try DataMovement.op(Pad.self, inputs: 2, attributes: ["mode": .string("edge")])
        #expect(DataMovement.operatorError { _ = try edge.run([try DataMovement.iota([0, 2]), try DataMovement.int64s([1, 0, 0, 0])], context: context) }?
            .contains("empty axis 0") == true)
        #expect(DataMovement.operatorError { _ = try DataMovement.op(Pad.self, inputs: 2, attributes: ["mode": .string("wrap")], opset: 18) }?
            .contains("not supported") == true)
        #expect(DataMovement.operatorError { _ = try DataMovement.op(Pad.self, inputs: 2, attributes: ["mode": .string("mirror")]) } != nil)
    }

    @Test func padOpset2AttributesAndBoolConstant() throws {
        let old = try DataMovement.op(Pad.self, inputs: 1, attributes: ["pads": .ints([1, 2]), "value": .float(2.5)], opset: 2)
        let output = try DataMovement.run(old, [try DataMovement.iota([2])])[0]
        #expect(try output.scalars(as: Float.self) == [2.5, 0, 1, 2.5, 2.5])
        let bools = try DataMovement.run(DataMovement.op(Pad.self, inputs: 3),
                                         [try Tensor(shape: [2], scalars: [true, false]), try DataMovement.int64s([1, 1]), Tensor(scalar: true)])[0]
        #expect(try bools.scalars(as: Bool.self) == [true, true, false, true])
        let symbolic = try DataMovement.infer(DataMovement.op(Pad.self, inputs: 2),
                                              [InferenceInput(type: TensorType(.float32, ["batch", 3])), DataMovement.constant(try DataMovement.int64s([0, 1, 0, 1]))])
        #expect(symbolic == [TensorType(.float32, ["batch", 5])])
    }

    @Test func depthAndSpaceRejectIndivisibleShapes() throws {
        let toSpace = try DataMovement.op(DepthToSpace.self, inputs: 1, attributes: ["blocksize": .int(2)])
        #expect(DataMovement.operatorError { _ = try toSpace.run([try DataMovement.iota([1, 6, 2, 2])], context: context) }?
            .contains("channels 6 are not a multiple of blocksize² = 4") == true)
        #expect(DataMovement.operatorError { _ = try toSpace.run([try DataMovement.iota([4, 2, 2])], context: context) }?.contains("rank 4") == true)
        let toDepth = try DataMovement.op(SpaceToDepth.self, inputs: 1, attributes: ["blocksize": .int(2)])
        #expect(DataMovement.operatorError { _ = try toDepth.run([try DataMovement.iota([1, 1, 3, 2])], context: context) }?
            .contains("multiples of blocksize 2") == true)
        #expect(DataMovement.operatorError { _ = try DataMovement.op(DepthToSpace.self, inputs: 1, attributes: ["blocksize": .int(2), "mode": .string("XYZ")]) } != nil)
        #expect(DataMovement.operatorError { _ = try DataMovement.op(SpaceToDepth.self, inputs: 1) }?.contains("blocksize") == true)
    }

    @Test func gatherElementsRejectsBadIndices() throws {
        let op = try DataMovement.op(GatherElements.self, inputs: 2, attributes: ["axis": .int(1)])
        let data = try DataMovement.iota([2, 3])
        #expect(DataMovement.operatorError { _ = try op.run([data, try DataMovement.int64s([0, 3], shape: [1, 2])], context: context) }
            == "index 3 is out of range for axis 1 of size 3")
        #expect(DataMovement.operatorError { _ = try op.run([data, try DataMovement.int64s([0, 1, 2], shape: [3, 1])], context: context) }?
            .contains("larger than data") == true)
        #expect(DataMovement.operatorError { _ = try op.run([data, try DataMovement.int64s([0])], context: context) }?.contains("ranks differ") == true)
    }

    @Test func scatterNDRejectsBadIndicesAndShapes() throws {
        let op = try DataMovement.op(ScatterND.self, inputs: 3)
        let data = try DataMovement.iota([4, 3])
        #expect(DataMovement.operatorError {
            _ = try op.run([data, try DataMovement.int64s([4], shape: [1, 1]), try DataMovement.iota([1, 3])], context: context)
        }?.contains("index 4 in indices row 0 is out of range for axis 0 of size 4") == true)
        #expect(DataMovement.operatorError {
            _ = try op.run([data, try DataMovement.int64s([1], shape: [1, 1]), try DataMovement.iota([1, 2])], context: context)
        }?.contains("updates have shape [1, 2], expected [1, 3]") == true)
        #expect(DataMovement.operatorError {
            _ = try op.run([data, try DataMovement.int64s([1, 1, 1], shape: [1, 3]), try DataMovement.iota([1])], context: context)
        }?.contains("last dim <= data rank") == true)
        let add = try DataMovement.op(ScatterND.self, inputs: 3, attributes: ["reduction": .string("add")])
        #expect(DataMovement.operatorError {
            _ = try add.run([try Tensor(shape: [2], scalars: [true, false]), try DataMovement.int64s([0], shape: [1, 1]),
                             try Tensor(shape: [1], scalars: [true])], context: context)
        }?.contains("does not apply to bool") == true)
        // A failed scatter leaves no partial result: the input is untouched (it is never written).
        #expect(try data.scalars(as: Float.self) == (0..<12).map(Float.init))
    }
}

/// Values from a model or a request that would overflow Int arithmetic must give errors, not traps.
@Suite struct OverflowRobustnessTests {
    private let context = ExecutionContext(threads: 1)

    @Test func sliceWithExtremeStepsTakesOneElement() throws {
        let op = try DataMovement.op(SliceOperator.self, inputs: 5)
        let input = try DataMovement.iota([5])
        let forward = try op.run([input, try DataMovement.int64s([1]), try DataMovement.int64s([Int.max]), nil, try DataMovement.int64s([Int.max])],
                                 context: context)[0]
        #expect(try forward.scalars(as: Float.self) == [1])
        let backward = try op.run([input, try DataMovement.int64s([3]), try DataMovement.int64s([Int.min]), nil, try DataMovement.int64s([Int.min])],
                                  context: context)[0]
        #expect(try backward.scalars(as: Float.self) == [3])
    }

    @Test func hugePadsTilesSplitsAndConcatsAreErrors() throws {
        let input = try DataMovement.iota([2])
        let pad = try DataMovement.op(Pad.self, inputs: 2)
        #expect(DataMovement.operatorError { _ = try pad.run([input, try DataMovement.int64s([Int.max, 1])], context: context) }?.contains("overflows") == true)
        #expect(DataMovement.operatorError {
            _ = try DataMovement.infer(pad, [InferenceInput(type: TensorType(.float32, [2])), DataMovement.constant(try DataMovement.int64s([Int.max, 5]))])
        }?.contains("overflows") == true)
        let tile = try DataMovement.op(Tile.self, inputs: 2)
        #expect(DataMovement.operatorError {
            _ = try DataMovement.infer(tile, [InferenceInput(type: TensorType(.float32, [4])), DataMovement.constant(try DataMovement.int64s([Int.max]))])
        }?.contains("overflows") == true)
        #expect(throws: (any Error).self) { _ = try tile.run([input, try DataMovement.int64s([Int.max])], context: context) }
        let split = try DataMovement.op(Split.self, inputs: 2, outputs: 2)
        #expect(DataMovement.operatorError { _ = try split.run([input, try DataMovement.int64s([Int.max, Int.max])], context: context) }?
            .contains("overflows") == true)
        let toSpace = try DataMovement.op(DepthToSpace.self, inputs: 1, attributes: ["blocksize": .int(1 << 15)])
        #expect(DataMovement.operatorError {
            _ = try DataMovement.infer(toSpace, [InferenceInput(type: TensorType(.float32, [Dim]([1, 1 << 30, Int.max / 2, 1])))])
        } != nil)
        #expect(DataMovement.operatorError { _ = try DataMovement.op(SpaceToDepth.self, inputs: 1, attributes: ["blocksize": .int(Int.max)]) } != nil)
    }

    @Test func emptyTensorsWithHugeOtherDimsDoNotTrap() throws {
        let empty = try Tensor(zeros: .float32, shape: [0, 1 << 40, 1 << 40])
        let gathered = try DataMovement.op(Gather.self, inputs: 2).run([empty, try DataMovement.int64s([])], context: context)[0]
        #expect(gathered.count == 0)
        let scatter = try DataMovement.op(ScatterND.self, inputs: 3)
        #expect(throws: (any Error).self) {
            _ = try scatter.run([empty, try DataMovement.int64s([], shape: [1 << 40, 1 << 40, 0, 1]), empty], context: context)
        }
    }

    @Test func inferenceDoesNotMaterializeHugeConstants() throws {
        // ConstantOfShape of a constant 100000 x 100000 shape: 40 GB if folding ran it.
        var builder = GraphBuilder(name: "huge")
        let x = builder.input("x", .float32, [1])
        let huge = builder.node("ConstantOfShape", [builder.constant(try DataMovement.int64s([100_000, 100_000]))])
        builder.output(builder.node("Shape", [huge]), as: "shape")
        builder.output(x, as: "x_out")
        let graph = try builder.build()
        #expect(graph.outputs[0].type == TensorType(.int64, [2]))
        let session = try InferenceSession(model: Model(graph: graph), options: .init(threads: 1))
        _ = session
    }
}
