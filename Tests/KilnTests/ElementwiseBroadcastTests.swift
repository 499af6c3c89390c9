import Kiln
import KilnTestSupport
import Testing

@Suite struct ElementwiseBroadcastTests {
    // MARK: Plans

    @Test func sameShapesCollapseToOneContiguousLoop() throws {
        let plan = try BroadcastPlan(operandShapes: [[2, 3, 4], [2, 3, 4]])
        #expect(plan.outputShape == [2, 3, 4])
        #expect(plan.dims == [24])
        #expect(plan.strides == [1, 1])
    }

    @Test func scalarOperandRepeatsOverAFlatLoop() throws {
        let plan = try BroadcastPlan(operandShapes: [[2, 3], []])
        #expect(plan.dims == [6])
        #expect(plan.strides == [1, 0])
        let onesShaped = try BroadcastPlan(operandShapes: [[1, 1], [4, 5]])
        #expect(onesShaped.dims == [20])
        #expect(onesShaped.strides == [0, 1])
    }

    @Test func rowBiasRepeatsAlongOuterDim() throws {
        let plan = try BroadcastPlan(operandShapes: [[4, 6, 5], [5]])
        #expect(plan.dims == [24, 5])
        #expect(plan.strides == [5, 1, 0, 1])
    }

    @Test func channelValueRepeatsAlongInnerDims() throws {
        let plan = try BroadcastPlan(operandShapes: [[2, 3, 4, 5], [3, 1, 1]])
        #expect(plan.outputShape == [2, 3, 4, 5])
        #expect(plan.dims == [2, 3, 20])
        #expect(plan.strides == [60, 20, 1, 0, 1, 0])
        #expect(plan.innerStride(1) == 0)
    }

    @Test func bothSidesBroadcastKeepSeparateDims() throws {
        let plan = try BroadcastPlan(operandShapes: [[3, 1], [1, 4]])
        #expect(plan.outputShape == [3, 4])
        #expect(plan.dims == [3, 4])
        #expect(plan.strides == [1, 0, 0, 1])
    }

    @Test func sizeOneDimsAreDropped() throws {
        let plan = try BroadcastPlan(operandShapes: [[1, 3, 1], [3, 1]])
        #expect(plan.outputShape == [1, 3, 1])
        #expect(plan.dims == [3])
        let single = try BroadcastPlan(operandShapes: [[1, 1], []])
        #expect(single.dims == [1])
        #expect(single.outputCount == 1)
    }

    @Test func nonBroadcastableShapesNameTheShapes() throws {
        let error = #expect(throws: OperatorError.self) { try BroadcastPlan(operandShapes: [[2, 3], [4]]) }
        #expect(error?.message.contains("[2, 3]") == true)
        #expect(error?.message.contains("[4]") == true)
    }

    // MARK: Fast vs reference

    /// Shape pairs covering same-shape, scalar, row, channel, both-sides and general broadcasts,
    /// with `n` running over the sizes around the vector widths.
    static func shapePairs(_ n: Int) -> [([Int], [Int])] {
        [
            ([n], [n]), ([n], []), ([], [n]), ([n], [1]),
            ([2, n], [n]), ([n], [3, n]), ([3, n], [3, 1]),
            ([n, 1], [1, n]), ([2, 3, n], [3, 1]), ([2, 3, 2, n], [3, 1, 1]),
            ([n, 3, 1, 2], [1, 3, 4, 1]), ([2, 1, n], [1, 5, 1]), ([1, n, 2], [n, 1, 2]),
        ]
    }

    @Test(arguments: ElementwiseTesting.sizes)
    func binaryFastMatchesReference(n: Int) throws {
        for (leftShape, rightShape) in Self.shapePairs(n) {
            let left = try ElementwiseTesting.tensor(leftShape, seed: UInt64(n * 31 + 1))
            let right = try ElementwiseTesting.tensor(rightShape, seed: UInt64(n * 31 + 2))
            let expected = try ElementwiseTesting.referenceBinary(left, right, as: Float.self) { $0 * 2 - $1 }
            let function = ClosureBinary<Float, Float, Float> { $0 * 2 - $1 }
            for threads in [1, 2] {
                let fast = try Elementwise.binary(function, left, right, cost: .cheap,
                                                  context: ExecutionContext(threads: threads))
                #expect(fast.isIdentical(to: expected), "\(leftShape) with \(rightShape), \(threads) threads")
            }
        }
    }

    /// Splits the output at every possible chunk size, so chunks start and end mid-row and the row
    /// cursor must resume from an arbitrary position.
    @Test func rowCursorResumesAtAnyOutputPosition() throws {
        let cases: [([Int], [Int])] = [([3, 4, 5], [4, 1]), ([2, 3, 7], [3, 7]), ([5, 1], [1, 6]), ([9], [])]
        for (leftShape, rightShape) in cases {
            let left = try ElementwiseTesting.tensor(leftShape, seed: 7)
            let right = try ElementwiseTesting.tensor(rightShape, seed: 8)
            let expected = try ElementwiseTesting.referenceBinary(left, right, as: Float.self) { $0 + 10 * $1 }
            let plan = try BroadcastPlan(operandShapes: [leftShape, rightShape])
            for chunk in 1...plan.outputCount {
                let output = try Tensor(zeros: .float32, shape: plan.outputShape)
                left.withUnsafePointer(as: Float.self) { leftBase in
                    right.withUnsafePointer(as: Float.self) { rightBase in
                        output.withUnsafeMutablePointer(as: Float.self) { outputBase in
                            for start in stride(from: 0, to: plan.outputCount, by: chunk) {
                                let range = start..<min(start + chunk, plan.outputCount)
                                BroadcastKernel.binary(ClosureBinary<Float, Float, Float> { $0 + 10 * $1 }, plan: plan,
                                                       leftBase, rightBase, outputBase, range: range)
                            }
                        }
                    }
                }
                #expect(output.isIdentical(to: expected), "\(leftShape) with \(rightShape), chunks of \(chunk)")
            }
        }
    }

    @Test func largeOutputsSplitAcrossThreadsMatchOneThread() throws {
        let left = try ElementwiseTesting.tensor([3, 64, 1000], seed: 3)
        let right = try ElementwiseTesting.tensor([64, 1], seed: 4)
        let add = try ElementwiseTesting.makeOperator("Add", inputs: 2)
        let single = try add.run([left, right], context: ExecutionContext(threads: 1))[0]
        let parallel = try add.run([left, right], context: ExecutionContext(threads: 2))[0]
        let expected = try ElementwiseTesting.referenceBinary(left, right, as: Float.self) { $0 + $1 }
        #expect(single.isIdentical(to: expected))
        #expect(parallel.isIdentical(to: expected))
    }

    @Test(arguments: ElementwiseTesting.sizes)
    func ternaryFastMatchesReference(n: Int) throws {
        let shapes: [([Int], [Int], [Int])] = [
            ([n], [n], [n]), ([n], [], [n]), ([], [n], []), ([1, n], [3, 1], []),
            ([2, 1, n], [3, n], [2, 3, 1]), ([n, 1, 1], [1, 2, 1], [1, 1, 3]), ([1], [1], [1]),
        ]
        let select = ClosureTernary<Bool, Float, Float, Float> { $0 ? $1 : $2 }
        for (conditionShape, xShape, yShape) in shapes {
            let condition = try Tensor(shape: conditionShape,
                                       scalars: ElementwiseTesting.bools(conditionShape.reduce(1, *), seed: UInt64(n)))
            let x = try ElementwiseTesting.tensor(xShape, seed: 11)
            let y = try ElementwiseTesting.tensor(yShape, seed: 12)
            let plan = try BroadcastPlan(operandShapes: [conditionShape, xShape, yShape])
            let expected = try Tensor(zeros: .float32, shape: plan.outputShape)
            condition.withUnsafePointer(as: Bool.self) { c in
                x.withUnsafePointer(as: Float.self) { xs in
                    y.withUnsafePointer(as: Float.self) { ys in
                        expected.withUnsafeMutablePointer(as: Float.self) { out in
                            BroadcastKernel.referenceTernary(select, c, firstShape: conditionShape, xs, secondShape: xShape,
                                                             ys, thirdShape: yShape, out, outputShape: plan.outputShape)
                        }
                    }
                }
            }
            let fast = try Elementwise.ternary(select, condition, x, y, cost: .cheap, context: ExecutionContext(threads: 2))
            #expect(fast.isIdentical(to: expected), "\(conditionShape), \(xShape), \(yShape)")
            let viaWhere = try ElementwiseTesting.run("Where", [condition, x, y])
            #expect(viaWhere.isIdentical(to: expected), "Where \(conditionShape), \(xShape), \(yShape)")
        }
    }

    @Test func referenceIndexingMatchesHandComputedBroadcast() throws {
        // [[1], [2]] + [10, 20, 30] = [[11, 21, 31], [12, 22, 32]]
        let column = try Tensor(shape: [2, 1], scalars: [1, 2] as [Float])
        let row = try Tensor(shape: [3], scalars: [10, 20, 30] as [Float])
        let sum = try ElementwiseTesting.run("Add", [column, row])
        #expect(sum.shape == [2, 3])
        #expect(try sum.scalars(as: Float.self) == [11, 21, 31, 12, 22, 32])
    }

    @Test func zeroSizedBroadcastGivesEmptyOutput() throws {
        let empty = try Tensor(zeros: .float32, shape: [0, 3])
        let row = try Tensor(shape: [3], scalars: [1, 2, 3] as [Float])
        let sum = try ElementwiseTesting.run("Add", [empty, row])
        #expect(sum.shape == [0, 3])
        let sizeOneAgainstZero = try ElementwiseTesting.run("Mul", [try Tensor(zeros: .float32, shape: [1, 0]), row.reshaped(to: [3, 1])])
        #expect(sizeOneAgainstZero.shape == [3, 0])
    }
}
