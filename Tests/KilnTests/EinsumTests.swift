import Kiln
import KilnTestSupport
import Testing

@Suite struct EinsumTests {
    typealias T = ExtraOperatorTesting

    @Test(arguments: ExtraOperatorFixtures.einsum)
    func matchesNumpy(_ fixture: OperatorFixture) throws {
        try T.check(fixture, rtol: 1e-5, atol: 1e-4)
    }

    /// The float path (pairwise sgemm contractions) against the scalar reference loop.
    static let equations: [(String, [[Int]])] = [
        ("bhqd,bhkd->bhqk", [[2, 3, 9, 8], [2, 3, 7, 8]]),
        ("bhqk,bhkd->bhqd", [[1, 2, 17, 16], [1, 2, 16, 15]]),
        ("bqhd,bkhd->bhqk", [[2, 9, 2, 8], [2, 7, 2, 8]]),
        ("ij,jk->ik", [[7, 9], [9, 8]]),
        ("ij,kj->ik", [[31, 33], [15, 33]]),
        ("ji,jk->ik", [[9, 7], [9, 16]]),
        ("ij->ji", [[33, 17]]),
        ("ijk->kji", [[3, 5, 7]]),
        ("ij->i", [[9, 31]]),
        ("ij->j", [[9, 31]]),
        ("ijk->", [[3, 4, 5]]),
        ("ii->i", [[9, 9]]),
        ("iji->j", [[3, 5, 3]]),
        ("i,j->ij", [[8], [17]]),
        ("i,j,k->ijk", [[2], [3], [4]]),
        ("...ij,...jk->...ik", [[3, 1, 5, 7], [2, 7, 9]]),
        ("ab,ab->ab", [[1, 7], [8, 7]]),
        ("ab,ab->", [[9, 7], [9, 7]]),
        ("ab,cb->", [[9, 7], [4, 7]]),
        ("aij,ajk,akl->ail", [[2, 3, 4], [2, 4, 5], [2, 5, 6]]),
        ("bij,bjk->bik", [[0, 3, 4], [0, 4, 5]]),
        ("ij,jk->ik", [[3, 0], [0, 5]]),
        ("i->", [[0]]),
    ]

    /// The transformer forms and a reduction over every edge size.
    static var edgeCases: [(String, [[Int]])] {
        T.edgeSizes.flatMap { size -> [(String, [[Int]])] in
            [("bhqd,bhkd->bhqk", [[1, 2, size, 8], [1, 2, 5, 8]]),
             ("bhqk,bhkd->bhqd", [[2, 1, 3, size], [2, 1, size, 4]]),
             ("ij->j", [[5, size]]),
             ("...i,...i->...", [[size, 3], [1, 3]])]
        }
    }

    @Test func floatPathMatchesTheReference() throws {
        for (index, (equation, shapes)) in (Self.equations + Self.edgeCases).enumerated() {
            let operands = try shapes.enumerated().map { try T.floats($1, seed: UInt64(index * 10 + $0)) }
            let op = try T.op(Einsum.self, inputs: operands.count, attributes: ["equation": .string(equation)])
            let actual = try T.run(op, operands)[0]
            let parsed = try EinsumEquation(equation, operandCount: operands.count)
            let labels = try parsed.operandLabels(ranks: shapes.map(\.count))
            let outputLabels = parsed.outputLabels(ranks: shapes.map(\.count))
            var sizes: [Int: Int] = [:]
            for (operandLabels, shape) in zip(labels, shapes) {
                for (label, size) in zip(operandLabels, shape) where sizes[label] == nil || sizes[label] == 1 { sizes[label] = size }
            }
            let expected = EinsumKernels.reference(operands.map { $0.floats().map(Double.init) }, shapes: shapes, labels: labels,
                                                   outputLabels: outputLabels, sizes: sizes, zero: 0.0, multiply: *, add: +)
            let expectedTensor = try Tensor(shape: outputLabels.map { sizes[$0] ?? 1 }, scalars: expected.map { Float($0) })
            T.expectMatches(actual, expectedTensor, rtol: 1e-5, atol: 1e-4, "einsum \(equation) \(shapes)")
        }
    }

    @Test func stridedSumMatchesDirectLoops() throws {
        // sum over j of x[i, j, i] (a diagonal plus a reduction) over the edge sizes.
        for size in T.edgeSizes {
            let x = try T.floats([3, size, 3], seed: UInt64(size))
            let values = x.floats()
            var output = [Float](repeating: -1, count: 3)
            values.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBufferPointer { destination in
                    EinsumKernels.sumStrided(source.baseAddress!, keptSizes: [3], keptStrides: [size * 3 + 1],
                                             summedSizes: [size], summedStrides: [3], into: destination.baseAddress!)
                }
            }
            for i in 0..<3 {
                let expected = (0..<size).reduce(Float(0)) { $0 + values[(i * size + $1) * 3 + i] }
                #expect(abs(output[i] - expected) <= 1e-4, "size \(size) i \(i)")
            }
        }
    }

    @Test func integerAndHalfOperands() throws {
        let op = try T.op(Einsum.self, inputs: 2, attributes: ["equation": .string("ij,jk->ik")])
        let a = try Tensor(shape: [2, 2], scalars: [Int64(1) << 40, 3, -2, 5])
        let b = try Tensor(shape: [2, 2], scalars: [Int64(3), 1, 7, -1])
        // Exact beyond 2^53: (2^40 * 3 + 21), (2^40 - 3).
        #expect(try T.run(op, [a, b])[0].scalars(as: Int64.self) == [(1 << 40) * 3 + 21, (1 << 40) - 3, 29, -7])
        let a32 = try Tensor(shape: [2, 2], scalars: [Int32(1), 2, 3, 4])
        let b32 = try Tensor(shape: [2, 2], scalars: [Int32(5), 6, 7, 8])
        #expect(try T.run(op, [a32, b32])[0].scalars(as: Int32.self) == [19, 22, 43, 50])
        let a16 = try Tensor(shape: [2, 2], scalars: [Float16(1), 2, 3, 4])
        let b16 = try Tensor(shape: [2, 2], scalars: [Float16(0.5), 6, 7, 8])
        #expect(try T.run(op, [a16, b16])[0].scalars(as: Float16.self) == [14.5, 22, 29.5, 50])
    }

    @Test func implicitOutputSortsLabelsByASCII() throws {
        let equation = try EinsumEquation("ba,Ca", operandCount: 2)
        // Labels used once: b and C; upper case sorts first.
        #expect(equation.outputLabels(ranks: [2, 2]) == [2, 27])
        let ellipsis = try EinsumEquation("...ij,jk", operandCount: 2)
        #expect(ellipsis.outputLabels(ranks: [4, 2]) == [EinsumEquation.ellipsisBase + 1, EinsumEquation.ellipsisBase, 34, 36])
    }

    @Test func inferenceKeepsSymbolicDims() throws {
        let op = try T.op(Einsum.self, inputs: 2, attributes: ["equation": .string("bhqd,bhkd->bhqk")])
        var symbols = SymbolGenerator()
        let types = try op.inferTypes([InferenceInput(type: TensorType(.float32, ["batch", 12, "seq", 64])),
                                       InferenceInput(type: TensorType(.float32, ["batch", 12, "seq", 64]))], symbols: &symbols)
        #expect(types == [TensorType(.float32, ["batch", 12, "seq", "seq"])])
        let broadcast = try T.op(Einsum.self, inputs: 2, attributes: ["equation": .string("...d,d->...")])
        let broadcastTypes = try broadcast.inferTypes([InferenceInput(type: TensorType(.float32, ["n", 1, 4])),
                                                        InferenceInput(type: TensorType(.float32, [4]))], symbols: &symbols)
        #expect(broadcastTypes == [TensorType(.float32, ["n", 1])])
        let unknownRank = try broadcast.inferTypes([InferenceInput(type: TensorType(.float32, nil)),
                                                     InferenceInput(type: TensorType(.float32, [4]))], symbols: &symbols)
        #expect(unknownRank == [TensorType(.float32, nil)])
    }

    @Test func rejectsMalformedEquationsAndMismatchedShapes() throws {
        func parseError(_ equation: String, operands: Int = 2) -> String? {
            T.operatorError { _ = try EinsumEquation(equation, operandCount: operands) }
        }
        #expect(parseError("ij,jk->ik", operands: 3)?.contains("2 input terms for 3 inputs") == true)
        #expect(parseError("ij,j1->i")?.contains("character '1'") == true)
        #expect(parseError("i..j,jk->ik")?.contains("misplaced '.'") == true)
        #expect(parseError("...i...,j->j")?.contains("misplaced '.'") == true)
        #expect(parseError("ij,jk->iz")?.contains("'z' of equation") == true)
        #expect(parseError("ij,jk->ii")?.contains("repeats a label") == true)
        #expect(parseError("ij,jk->ik->i")?.contains("more than one") == true)
        #expect(parseError("ij,jk->...ik")?.contains("no input has") == true)
        #expect(T.operatorError { _ = try T.op(Einsum.self, inputs: 1) }?.contains("'equation' is required") == true)

        let op = try T.op(Einsum.self, inputs: 2, attributes: ["equation": .string("ij,jk->ik")])
        let context = ExecutionContext(threads: 1)
        #expect(T.operatorError { _ = try op.run([try T.floats([2, 3]), try T.floats([4, 5])], context: context) }?
            .contains("label 'j' has sizes 3 and 4") == true)
        #expect(T.operatorError { _ = try op.run([try T.floats([2, 3, 1]), try T.floats([3, 5])], context: context) }?
            .contains("input 0 has rank 3 but its term has 2 labels") == true)
        #expect(T.operatorError { _ = try op.run([try T.floats([2, 3]), try T.integers(.int64, [3, 5], in: 0...3)], context: context) }?
            .contains("must share") == true)
        let outer = try T.op(Einsum.self, inputs: 4, attributes: ["equation": .string("i,j,k,l->")])
        let wide = try T.integers(.int64, [1 << 16], in: 0...1)
        #expect(T.operatorError { _ = try outer.run([wide, wide, wide, wide], context: context) }?.contains("overflows") == true)
        let diagonal = try T.op(Einsum.self, inputs: 1, attributes: ["equation": .string("ii->i")])
        #expect(T.operatorError { _ = try diagonal.run([try T.floats([2, 3])], context: context) }?
            .contains("repeats within one input") == true)
        #expect(T.operatorError { _ = try op.run([try T.integers(.uint8, [2, 3], in: 0...3), try T.integers(.uint8, [3, 5], in: 0...3)], context: context) }?
            .contains("float32, float16, int32, int64") == true)
    }
}
