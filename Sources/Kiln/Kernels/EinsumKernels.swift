/// Loops behind `Einsum` that are not matrix products, and its scalar reference.
package enum EinsumKernels {
    /// `destination[kept] = sum over summed of source[kept, summed]`, both index sets walked through
    /// strides of the source (a repeated label's stride is the sum of its axes' strides, which reads
    /// the diagonal). `destination` is dense in `keptSizes`.
    package static func sumStrided(_ source: UnsafePointer<Float>, keptSizes: [Int], keptStrides: [Int],
                                   summedSizes: [Int], summedStrides: [Int], into destination: UnsafeMutablePointer<Float>) {
        let keptCount = keptSizes.reduce(1, *), summedCount = summedSizes.reduce(1, *)
        // The innermost summed axis runs as a plain strided loop; the rest through an odometer.
        let innerSize = summedSizes.last ?? 1, innerStride = summedStrides.last ?? 0
        let outerSizes = Array(summedSizes.dropLast()), outerStrides = Array(summedStrides.dropLast())
        let outerCount = summedCount / max(innerSize, 1)
        var keptCoordinate = [Int](repeating: 0, count: keptSizes.count)
        var summedCoordinate = [Int](repeating: 0, count: outerSizes.count)
        var keptOffset = 0
        for index in 0..<keptCount {
            var total: Float = 0
            if summedCount > 0 {
                var offset = keptOffset
                for _ in 0..<outerCount {
                    let row = source + offset
                    for inner in 0..<innerSize { total += row[inner * innerStride] }
                    advance(&summedCoordinate, &offset, sizes: outerSizes, strides: outerStrides)
                }
            }
            destination[index] = total
            advance(&keptCoordinate, &keptOffset, sizes: keptSizes, strides: keptStrides)
        }
    }

    /// Steps an odometer `coordinate` (and its offset) to the next position, wrapping to zero.
    @inline(__always)
    private static func advance(_ coordinate: inout [Int], _ offset: inout Int, sizes: [Int], strides: [Int]) {
        var axis = sizes.count - 1
        while axis >= 0 {
            coordinate[axis] += 1
            offset += strides[axis]
            if coordinate[axis] < sizes[axis] { return }
            offset -= coordinate[axis] * strides[axis]
            coordinate[axis] = 0
            axis -= 1
        }
    }

    /// The scalar reference: for every output element, the sum over every assignment of the summed
    /// labels of the product of the operands' elements (a size-1 axis reads index 0 whatever its
    /// label's size).
    /// - Parameters:
    ///   - labels: Each operand's label per axis.
    ///   - sizes: Every label's (broadcast) size.
    package static func reference<Scalar>(_ operands: [[Scalar]], shapes: [[Int]], labels: [[Int]], outputLabels: [Int],
                                          sizes: [Int: Int], zero: Scalar, multiply: (Scalar, Scalar) -> Scalar,
                                          add: (Scalar, Scalar) -> Scalar) -> [Scalar] {
        let summedLabels = Set(labels.flatMap { $0 }).subtracting(outputLabels).sorted()
        let all = outputLabels + summedLabels
        let position = Dictionary(uniqueKeysWithValues: all.enumerated().map { ($1, $0) })
        let allSizes = all.map { sizes[$0] ?? 1 }
        let outputCount = outputLabels.reduce(1) { $0 * (sizes[$1] ?? 1) }
        let summedCount = summedLabels.reduce(1) { $0 * (sizes[$1] ?? 1) }
        let operandStrides = shapes.map { ShapeArithmetic.strides($0) }
        var result = [Scalar](repeating: zero, count: outputCount)
        var coordinate = [Int](repeating: 0, count: all.count)
        for outputIndex in 0..<outputCount {
            var total = zero
            for summedIndex in 0..<summedCount {
                var remaining = outputIndex * summedCount + summedIndex
                for slot in stride(from: all.count - 1, through: 0, by: -1) {
                    coordinate[slot] = remaining % allSizes[slot]
                    remaining /= allSizes[slot]
                }
                var product: Scalar?
                for operand in operands.indices {
                    var offset = 0
                    for (axis, label) in labels[operand].enumerated() where shapes[operand][axis] != 1 {
                        offset += coordinate[position[label]!] * operandStrides[operand][axis]
                    }
                    let value = operands[operand][offset]
                    product = product.map { multiply($0, value) } ?? value
                }
                total = add(total, product ?? zero)
            }
            result[outputIndex] = total
        }
        return result
    }
}
