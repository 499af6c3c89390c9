/// Copies a strided view of one buffer into a strided view of another, moving elements by their size
/// only, so one kernel serves every dtype. Transpose, Slice, Expand, Tile, Concat, Split and the
/// depth/space rearrangements are all such copies with different strides.
///
/// Strides count elements, not bytes. A source stride may be 0 (repeat, as Expand does) or negative
/// (walk backwards, as a Slice with a negative step does). The destination region must not overlap
/// itself or the source.
package enum StridedCopy {
    /// Copies `shape` elements from `source` to `destination`, in parallel when the copy is large.
    ///
    /// The fast path first drops axes of size 1 and merges axes that are contiguous in both views, so
    /// a transpose that keeps the innermost axis in place becomes a loop of `memcpy` rows, a plain
    /// 2-D transpose becomes a cache-blocked tile loop, and the general case a strided row loop.
    /// - Parameters:
    ///   - shape: The dims of the region to copy.
    ///   - source: The source element at coordinate zero.
    ///   - sourceStrides: Elements between neighbours along each axis in the source.
    ///   - destination: The destination element at coordinate zero.
    ///   - destinationStrides: Elements between neighbours along each axis in the destination.
    ///   - elementSize: Bytes per element (1, 2, 4 and 8 take the fast path).
    ///   - context: Supplies the threads.
    package static func copy(
        shape: [Int], source: UnsafeRawPointer, sourceStrides: [Int],
        destination: UnsafeMutableRawPointer, destinationStrides: [Int],
        elementSize: Int, context: ExecutionContext
    ) {
        assert(shape.count == sourceStrides.count && shape.count == destinationStrides.count)
        guard !shape.contains(0) else { return }
        let layout = simplified(shape: shape, sourceStrides: sourceStrides, destinationStrides: destinationStrides)
        switch elementSize {
        case 1: copyTyped(UInt8.self, layout, source, destination, context)
        case 2: copyTyped(UInt16.self, layout, source, destination, context)
        case 4: copyTyped(UInt32.self, layout, source, destination, context)
        case 8: copyTyped(UInt64.self, layout, source, destination, context)
        default:
            reference(shape: shape, source: source, sourceStrides: sourceStrides, destination: destination,
                      destinationStrides: destinationStrides, elementSize: elementSize)
        }
    }

    /// Element by element, recomputing both addresses from the coordinates: the reference the fast
    /// path is tested against.
    package static func reference(
        shape: [Int], source: UnsafeRawPointer, sourceStrides: [Int],
        destination: UnsafeMutableRawPointer, destinationStrides: [Int], elementSize: Int
    ) {
        var count = 1
        for dim in shape { count *= dim }
        for linear in 0..<count {
            var remaining = linear
            var sourceOffset = 0
            var destinationOffset = 0
            for axis in stride(from: shape.count - 1, through: 0, by: -1) {
                let coordinate = remaining % shape[axis]
                remaining /= shape[axis]
                sourceOffset += coordinate * sourceStrides[axis]
                destinationOffset += coordinate * destinationStrides[axis]
            }
            (destination + destinationOffset * elementSize)
                .copyMemory(from: source + sourceOffset * elementSize, byteCount: elementSize)
        }
    }

    /// Dims and strides after dropping size-1 axes and merging neighbours contiguous in both views.
    package struct Layout: Equatable {
        package var dims: [Int] = []
        package var sourceStrides: [Int] = []
        package var destinationStrides: [Int] = []
    }

    package static func simplified(shape: [Int], sourceStrides: [Int], destinationStrides: [Int]) -> Layout {
        // Built innermost first, then reversed.
        var layout = Layout()
        for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] != 1 {
            let dim = shape[axis], source = sourceStrides[axis], destination = destinationStrides[axis]
            if let inner = layout.dims.last, let innerSource = layout.sourceStrides.last,
               let innerDestination = layout.destinationStrides.last,
               source == innerSource &* inner, destination == innerDestination &* inner {
                layout.dims[layout.dims.count - 1] = inner * dim
            } else {
                layout.dims.append(dim)
                layout.sourceStrides.append(source)
                layout.destinationStrides.append(destination)
            }
        }
        layout.dims.reverse()
        layout.sourceStrides.reverse()
        layout.destinationStrides.reverse()
        return layout
    }

    /// Elements per parallel chunk below which splitting the work costs more than it saves.
    private static let parallelGrain = 1 << 16

    private static func copyTyped<Element>(
        _ type: Element.Type, _ layout: Layout, _ rawSource: UnsafeRawPointer,
        _ rawDestination: UnsafeMutableRawPointer, _ context: ExecutionContext
    ) {
        let source = rawSource.assumingMemoryBound(to: Element.self)
        let destination = rawDestination.assumingMemoryBound(to: Element.self)
        let rank = layout.dims.count
        guard rank > 0 else {
            destination[0] = source[0]
            return
        }
        // Loops read dims and strides through raw buffers: no bounds checks or ARC in the hot path.
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 3 * rank) { buffer in
            let base = buffer.baseAddress!
            let dims = base, sourceStrides = base + rank, destinationStrides = base + 2 * rank
            for axis in 0..<rank {
                dims[axis] = layout.dims[axis]
                sourceStrides[axis] = layout.sourceStrides[axis]
                destinationStrides[axis] = layout.destinationStrides[axis]
            }
            let innerSource = sourceStrides[rank - 1]
            if rank >= 2, destinationStrides[rank - 1] == 1, sourceStrides[rank - 2] == 1,
               innerSource != 1, innerSource != 0 {
                transposeTiles(source, destination, dims: dims, sourceStrides: sourceStrides,
                               destinationStrides: destinationStrides, rank: rank, context: context)
            } else {
                copyRows(source, destination, dims: dims, sourceStrides: sourceStrides,
                         destinationStrides: destinationStrides, rank: rank, context: context)
            }
        }
    }

    /// One row (the innermost axis) per step of an odometer over the outer axes.
    private static func copyRows<Element>(
        _ source: UnsafePointer<Element>, _ destination: UnsafeMutablePointer<Element>,
        dims: UnsafePointer<Int>, sourceStrides: UnsafePointer<Int>, destinationStrides: UnsafePointer<Int>,
        rank: Int, context: ExecutionContext
    ) {
        let outerRank = rank - 1
        let rowLength = dims[outerRank]
        let rowSource = sourceStrides[outerRank], rowDestination = destinationStrides[outerRank]
        var rows = 1
        for axis in 0..<outerRank { rows *= dims[axis] }
        context.parallelFor(rows, minimumChunk: max(1, parallelGrain / rowLength)) { range in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: max(outerRank, 1)) { coordinates in
                var sourceOffset = 0, destinationOffset = 0
                var remaining = range.lowerBound
                for axis in stride(from: outerRank - 1, through: 0, by: -1) {
                    let coordinate = remaining % dims[axis]
                    remaining /= dims[axis]
                    coordinates[axis] = coordinate
                    sourceOffset += coordinate * sourceStrides[axis]
                    destinationOffset += coordinate * destinationStrides[axis]
                }
                for _ in range {
                    copyRow(source + sourceOffset, rowSource, destination + destinationOffset, rowDestination,
                            count: rowLength)
                    var axis = outerRank - 1
                    while axis >= 0 {
                        coordinates[axis] += 1
                        sourceOffset += sourceStrides[axis]
                        destinationOffset += destinationStrides[axis]
                        if coordinates[axis] < dims[axis] { break }
                        sourceOffset -= sourceStrides[axis] * dims[axis]
                        destinationOffset -= destinationStrides[axis] * dims[axis]
                        coordinates[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
    }

    @inline(__always)
    private static func copyRow<Element>(
        _ source: UnsafePointer<Element>, _ sourceStride: Int,
        _ destination: UnsafeMutablePointer<Element>, _ destinationStride: Int, count: Int
    ) {
        if destinationStride == 1 {
            if sourceStride == 1 {
                destination.update(from: source, count: count)
            } else if sourceStride == 0 {
                destination.update(repeating: source[0], count: count)
            } else {
                for index in 0..<count { destination[index] = source[index * sourceStride] }
            }
        } else {
            for index in 0..<count { destination[index * destinationStride] = source[index * sourceStride] }
        }
    }

    /// The last two axes are a transpose: contiguous along the second-to-last axis in the source and
    /// along the last in the destination. Square tiles keep both sides' cache lines in use.
    private static func transposeTiles<Element>(
        _ source: UnsafePointer<Element>, _ destination: UnsafeMutablePointer<Element>,
        dims: UnsafePointer<Int>, sourceStrides: UnsafePointer<Int>, destinationStrides: UnsafePointer<Int>,
        rank: Int, context: ExecutionContext
    ) {
        // One 64-byte cache line per tile row (8 or 16 elements; 1- and 2-byte elements use 16 too).
        // Wider tiles put more same-set lines in flight on power-of-two strides: a 1024 x 1024
        // float32 transpose took ~1.4 ms with 16 and ~2.7-3 ms with 32 (release, one thread, busy
        // shared machine), while other shapes were within noise.
        let tile = MemoryLayout<Element>.size >= 8 ? 8 : 16
        let rows = dims[rank - 2], columns = dims[rank - 1]
        let columnSource = sourceStrides[rank - 1]
        let rowDestination = destinationStrides[rank - 2]
        let rowTiles = (rows + tile - 1) / tile
        var outerCount = 1
        for axis in 0..<(rank - 2) { outerCount *= dims[axis] }
        let workPerItem = min(rows, tile) * columns
        context.parallelFor(outerCount * rowTiles, minimumChunk: max(1, parallelGrain / max(workPerItem, 1))) { range in
            for item in range {
                var outer = item / rowTiles
                var sourceOffset = 0, destinationOffset = 0
                for axis in stride(from: rank - 3, through: 0, by: -1) {
                    let coordinate = outer % dims[axis]
                    outer /= dims[axis]
                    sourceOffset += coordinate * sourceStrides[axis]
                    destinationOffset += coordinate * destinationStrides[axis]
                }
                let rowStart = (item % rowTiles) * tile
                let rowEnd = min(rows, rowStart + tile)
                var columnStart = 0
                while columnStart < columns {
                    let columnEnd = min(columns, columnStart + tile)
                    for row in rowStart..<rowEnd {
                        let destinationRow = destination + destinationOffset + row * rowDestination
                        let sourceColumn = source + sourceOffset + row
                        for column in columnStart..<columnEnd {
                            destinationRow[column] = sourceColumn[column * columnSource]
                        }
                    }
                    columnStart = columnEnd
                }
            }
        }
    }
}

/// Fills memory with copies of one element, by element size.
package enum ElementFill {
    /// Writes `count` copies of the `elementSize` bytes at `value` to `destination`.
    package static func fill(_ destination: UnsafeMutableRawPointer, count: Int, value: UnsafeRawPointer, elementSize: Int) {
        switch elementSize {
        case 1: fillTyped(UInt8.self, destination, count, value)
        case 2: fillTyped(UInt16.self, destination, count, value)
        case 4: fillTyped(UInt32.self, destination, count, value)
        case 8: fillTyped(UInt64.self, destination, count, value)
        default:
            for index in 0..<count {
                (destination + index * elementSize).copyMemory(from: value, byteCount: elementSize)
            }
        }
    }

    @inline(__always)
    private static func fillTyped<Element>(_ type: Element.Type, _ destination: UnsafeMutableRawPointer, _ count: Int,
                                           _ value: UnsafeRawPointer) {
        let element = value.loadUnaligned(as: Element.self)
        destination.assumingMemoryBound(to: Element.self).update(repeating: element, count: count)
    }
}
