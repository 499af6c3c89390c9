/// Copies a dense tensor into a dense output where each output coordinate along each axis reads a
/// chosen input coordinate, or the fill value where the map says -1. Pad's edge, reflect and wrap
/// modes are such maps; any dtype works because elements move by size.
package enum AxisMapCopy {
    /// - Parameters:
    ///   - source: The input's elements, dense row-major in `sourceShape`.
    ///   - maps: Per axis, one input coordinate (or -1) for each output coordinate; the output shape
    ///     is `maps.map(\.count)`.
    ///   - fill: One element written where any axis maps to -1.
    package static func copy(source: UnsafeRawPointer, sourceShape: [Int], maps: [[Int]],
                             destination: UnsafeMutableRawPointer, fill: UnsafeRawPointer, elementSize: Int,
                             context: ExecutionContext) {
        switch elementSize {
        case 1: copyTyped(UInt8.self, source, sourceShape, maps, destination, fill, context)
        case 2: copyTyped(UInt16.self, source, sourceShape, maps, destination, fill, context)
        case 4: copyTyped(UInt32.self, source, sourceShape, maps, destination, fill, context)
        case 8: copyTyped(UInt64.self, source, sourceShape, maps, destination, fill, context)
        default:
            reference(source: source, sourceShape: sourceShape, maps: maps, destination: destination, fill: fill,
                      elementSize: elementSize)
        }
    }

    /// One element at a time from full coordinates: the reference for ``copy(source:sourceShape:maps:destination:fill:elementSize:context:)``.
    package static func reference(source: UnsafeRawPointer, sourceShape: [Int], maps: [[Int]],
                                  destination: UnsafeMutableRawPointer, fill: UnsafeRawPointer, elementSize: Int) {
        let outputShape = maps.map(\.count)
        let strides = ShapeArithmetic.strides(sourceShape)
        let count = outputShape.reduce(1, *)
        for linear in 0..<count {
            var remaining = linear
            var offset = 0
            var filled = false
            for axis in stride(from: outputShape.count - 1, through: 0, by: -1) {
                let coordinate = maps[axis][remaining % outputShape[axis]]
                remaining /= outputShape[axis]
                if coordinate < 0 { filled = true } else { offset += coordinate * strides[axis] }
            }
            (destination + linear * elementSize).copyMemory(from: filled ? fill : source + offset * elementSize,
                                                            byteCount: elementSize)
        }
    }

    private static func copyTyped<Element>(
        _ type: Element.Type, _ rawSource: UnsafeRawPointer, _ sourceShape: [Int], _ maps: [[Int]],
        _ rawDestination: UnsafeMutableRawPointer, _ rawFill: UnsafeRawPointer, _ context: ExecutionContext
    ) {
        let source = rawSource.assumingMemoryBound(to: Element.self)
        let destination = rawDestination.assumingMemoryBound(to: Element.self)
        let fill = rawFill.loadUnaligned(as: Element.self)
        let rank = maps.count
        guard rank > 0 else {
            destination[0] = source[0]
            return
        }
        let outputShape = maps.map(\.count)
        guard !outputShape.contains(0) else { return }
        let strides = ShapeArithmetic.strides(sourceShape)
        // Source offsets per axis and output coordinate, -1 where the fill value goes.
        let offsets = (0..<rank).map { axis in maps[axis].map { $0 < 0 ? -1 : $0 * strides[axis] } }
        let rowLength = outputShape[rank - 1]
        let rows = outputShape.dropLast().reduce(1, *)
        offsets[rank - 1].withUnsafeBufferPointer { innerOffsets in
            context.parallelFor(rows, minimumChunk: max(1, (1 << 16) / rowLength)) { range in
                for row in range {
                    var remaining = row
                    var rowOffset = 0
                    var filled = false
                    for axis in stride(from: rank - 2, through: 0, by: -1) {
                        let offset = offsets[axis][remaining % outputShape[axis]]
                        remaining /= outputShape[axis]
                        if offset < 0 { filled = true } else { rowOffset += offset }
                    }
                    let output = destination + row * rowLength
                    if filled {
                        output.update(repeating: fill, count: rowLength)
                        continue
                    }
                    let input = source + rowOffset
                    for column in 0..<rowLength {
                        let offset = innerOffsets[column]
                        output[column] = offset < 0 ? fill : input[offset]
                    }
                }
            }
        }
    }
}
