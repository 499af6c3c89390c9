import Kiln
import Testing

/// The fast strided copy against its element-by-element reference, over layouts that reach each of
/// its paths: contiguous rows, broadcast rows, strided rows, transposed tiles, reversed walks.
@Suite struct StridedCopyTests {
    /// Copies with both kernels into buffers pre-filled with a marker and returns both buffers.
    private func copyBoth(shape: [Int], sourceCount: Int, sourceOffset: Int, sourceStrides: [Int],
                          destinationCount: Int, destinationStrides: [Int], elementSize: Int,
                          threads: Int = 2) -> (fast: [UInt8], reference: [UInt8]) {
        let source = (0..<(sourceCount * elementSize)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8 &+ 7) }
        var fast = [UInt8](repeating: 0xEE, count: destinationCount * elementSize)
        var reference = fast
        source.withUnsafeBytes { sourceBytes in
            let start = sourceBytes.baseAddress! + sourceOffset * elementSize
            fast.withUnsafeMutableBytes { destination in
                StridedCopy.copy(shape: shape, source: start, sourceStrides: sourceStrides,
                                 destination: destination.baseAddress!, destinationStrides: destinationStrides,
                                 elementSize: elementSize, context: ExecutionContext(threads: threads))
            }
            reference.withUnsafeMutableBytes { destination in
                StridedCopy.reference(shape: shape, source: start, sourceStrides: sourceStrides,
                                      destination: destination.baseAddress!, destinationStrides: destinationStrides,
                                      elementSize: elementSize)
            }
        }
        return (fast, reference)
    }

    private static func denseStrides(_ shape: [Int]) -> [Int] { ShapeArithmetic.strides(shape) }

    @Test(arguments: [1, 2, 4, 8])
    func transposesMatchReferenceForEveryPermutationOfRank3(elementSize: Int) {
        let permutations = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
        for shape in [[2, 3, 4], [1, 7, 9], [5, 1, 17], [3, 16, 33], [0, 4, 5], [8, 8, 1]] {
            let inputStrides = Self.denseStrides(shape)
            for perm in permutations {
                let outputShape = perm.map { shape[$0] }
                let count = shape.reduce(1, *)
                let result = copyBoth(shape: outputShape, sourceCount: count, sourceOffset: 0,
                                      sourceStrides: perm.map { inputStrides[$0] }, destinationCount: count,
                                      destinationStrides: Self.denseStrides(outputShape), elementSize: elementSize)
                #expect(result.fast == result.reference, "shape \(shape) perm \(perm) size \(elementSize)")
            }
        }
    }

    @Test func twoDimensionalTransposeMatchesReferenceAtSimdEdges() {
        for rows in DataMovement.edgeSizes {
            for columns in [1, 7, 8, 9, 31, 32, 33, 65] {
                for elementSize in [1, 2, 4, 8] {
                    let result = copyBoth(shape: [columns, rows], sourceCount: rows * columns, sourceOffset: 0,
                                          sourceStrides: [1, columns], destinationCount: rows * columns,
                                          destinationStrides: [rows, 1], elementSize: elementSize)
                    #expect(result.fast == result.reference, "\(rows)x\(columns) size \(elementSize)")
                }
            }
        }
    }

    @Test func broadcastsWithZeroStrides() {
        for inner in DataMovement.edgeSizes {
            for elementSize in [1, 2, 4, 8] {
                // [3, inner] from a [3, 1] column, and [4, 3, inner] from a [1, inner] row.
                let column = copyBoth(shape: [3, inner], sourceCount: 3, sourceOffset: 0, sourceStrides: [1, 0],
                                      destinationCount: 3 * inner, destinationStrides: [inner, 1], elementSize: elementSize)
                #expect(column.fast == column.reference)
                let row = copyBoth(shape: [4, 3, inner], sourceCount: inner, sourceOffset: 0, sourceStrides: [0, 0, 1],
                                   destinationCount: 12 * inner, destinationStrides: [3 * inner, inner, 1],
                                   elementSize: elementSize)
                #expect(row.fast == row.reference)
            }
        }
    }

    @Test func walksBackwardsWithNegativeStrides() {
        for length in DataMovement.edgeSizes where length > 0 {
            for elementSize in [1, 2, 4, 8] {
                // Reverse both axes of a [3, length] matrix, and every second element of each row.
                let reversed = copyBoth(shape: [3, length], sourceCount: 3 * length, sourceOffset: 3 * length - 1,
                                        sourceStrides: [-length, -1], destinationCount: 3 * length,
                                        destinationStrides: [length, 1], elementSize: elementSize)
                #expect(reversed.fast == reversed.reference)
                let half = (length + 1) / 2
                let stepped = copyBoth(shape: [3, half], sourceCount: 3 * length, sourceOffset: length - 1,
                                       sourceStrides: [length, -2], destinationCount: 3 * half,
                                       destinationStrides: [half, 1], elementSize: elementSize)
                #expect(stepped.fast == stepped.reference)
            }
        }
    }

    @Test func writesIntoStridedDestinationsLeavingGapsUntouched() {
        // A [4, 5] block written into columns 0..<5 of a [4, 9] buffer, as Concat does.
        let result = copyBoth(shape: [4, 5], sourceCount: 20, sourceOffset: 0, sourceStrides: [5, 1],
                              destinationCount: 36, destinationStrides: [9, 1], elementSize: 4)
        #expect(result.fast == result.reference)
        #expect(result.fast[20..<36].allSatisfy { $0 == 0xEE }, "columns 5..<9 of row 0 must stay untouched")
        #expect(result.fast[0..<4] != [0xEE, 0xEE, 0xEE, 0xEE])
        // A transposed block into a strided destination.
        let transposed = copyBoth(shape: [5, 4], sourceCount: 20, sourceOffset: 0, sourceStrides: [1, 5],
                                  destinationCount: 60, destinationStrides: [12, 2], elementSize: 2)
        #expect(transposed.fast == transposed.reference)
    }

    @Test func matchesReferenceOnRandomLayouts() {
        var state: UInt64 = 42
        func random(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(state >> 33) % bound
        }
        for _ in 0..<300 {
            let rank = 1 + random(5)
            let inputShape = (0..<rank).map { _ in [1, 2, 3, 5, 8, 9, 17][random(7)] }
            var perm = Array(0..<rank)
            var generator = SeededGenerator(seed: UInt64(random(1 << 30)))
            perm.shuffle(using: &generator)
            let inputStrides = Self.denseStrides(inputShape)
            // Some axes broadcast (stride 0), some reversed.
            var sourceStrides = perm.map { inputStrides[$0] }
            var outputShape = perm.map { inputShape[$0] }
            var offset = 0
            for axis in 0..<rank {
                switch random(6) {
                case 0:
                    sourceStrides[axis] = 0
                    outputShape[axis] = 1 + random(4)
                case 1:
                    offset += (outputShape[axis] - 1) * sourceStrides[axis]
                    sourceStrides[axis] = -sourceStrides[axis]
                default: break
                }
            }
            let count = inputShape.reduce(1, *), outputCount = outputShape.reduce(1, *)
            let elementSize = [1, 2, 4, 8][random(4)]
            let result = copyBoth(shape: outputShape, sourceCount: count, sourceOffset: offset, sourceStrides: sourceStrides,
                                  destinationCount: outputCount, destinationStrides: Self.denseStrides(outputShape),
                                  elementSize: elementSize, threads: 1 + random(2))
            #expect(result.fast == result.reference, "shape \(outputShape) strides \(sourceStrides)")
        }
    }

    @Test func simplifiesContiguousAxesAway() {
        let layout = StridedCopy.simplified(shape: [2, 1, 3, 4], sourceStrides: [12, 99, 4, 1], destinationStrides: [12, 12, 4, 1])
        #expect(layout.dims == [24])
        #expect(layout.sourceStrides == [1])
        // NCHW -> NHWC: H and W merge; the channel axis stays separate.
        let nhwc = StridedCopy.simplified(shape: [2, 5, 6, 3], sourceStrides: [90, 6, 1, 30], destinationStrides: [90, 18, 3, 1])
        #expect(nhwc.dims == [2, 30, 3])
        #expect(nhwc.sourceStrides == [90, 1, 30])
    }

    @Test(arguments: [1, 2, 4, 8])
    func fillsWithOneElement(elementSize: Int) {
        let value: [UInt8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]
        for count in DataMovement.edgeSizes {
            var buffer = [UInt8](repeating: 0, count: count * elementSize + 1)
            buffer.withUnsafeMutableBytes { destination in
                value.withUnsafeBytes { ElementFill.fill(destination.baseAddress!, count: count, value: $0.baseAddress!, elementSize: elementSize) }
            }
            var expected: [UInt8] = []
            for _ in 0..<count { expected += value[0..<elementSize] }
            expected.append(0)
            #expect(buffer == expected)
        }
    }
}

/// A seedable generator so shuffles are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
}
