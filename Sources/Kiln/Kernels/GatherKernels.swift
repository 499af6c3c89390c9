/// Index-driven copies (Gather, GatherElements), by element size so every dtype works, with int32 or
/// int64 indices. Callers check the indices first (``firstIndexOutOfRange(_:count:bound:)``); the
/// kernels then wrap negative indices once and trust the range.
package enum GatherKernels {
    /// The first index outside `[-bound, bound)`, or nil when all are valid.
    package static func firstIndexOutOfRange(_ indices: Tensor, bound: Int) -> Int? {
        switch indices.dtype {
        case .int64: return indices.withUnsafePointer(as: Int64.self) { firstOutOfRange($0, count: indices.count, bound: bound) }
        case .int32: return indices.withUnsafePointer(as: Int32.self) { firstOutOfRange($0, count: indices.count, bound: bound) }
        default: return nil
        }
    }

    private static func firstOutOfRange<Index: FixedWidthInteger>(_ indices: UnsafePointer<Index>, count: Int, bound: Int) -> Int? {
        for position in 0..<count {
            let index = Int(indices[position])
            if index < -bound || index >= bound { return index }
        }
        return nil
    }

    // MARK: Gather

    /// The sizes that describe a Gather: data viewed as `[outer, axisSize, inner]`, indices flattened
    /// to `indexCount`, output `[outer, indexCount, inner]`.
    package struct GatherExtent: Sendable {
        package var outer: Int
        package var axisSize: Int
        package var inner: Int
        package var indexCount: Int

        package init(outer: Int, axisSize: Int, inner: Int, indexCount: Int) {
            self.outer = outer
            self.axisSize = axisSize
            self.inner = inner
            self.indexCount = indexCount
        }
    }

    /// Gathers blocks of `inner` elements; indices must be int64 or int32 and already range-checked.
    package static func gather(data: Tensor, indices: Tensor, extent: GatherExtent, into output: Tensor,
                               context: ExecutionContext) {
        switch indices.dtype {
        case .int64: gather(data: data, indices: indices, Int64.self, extent: extent, into: output, context: context)
        case .int32: gather(data: data, indices: indices, Int32.self, extent: extent, into: output, context: context)
        default: assertionFailure("Gather indices must be int32 or int64")
        }
    }

    private static func gather<Index: FixedWidthInteger>(
        data: Tensor, indices: Tensor, _ indexType: Index.Type, extent: GatherExtent, into output: Tensor,
        context: ExecutionContext
    ) {
        data.withUnsafePointer(as: UInt8.self) { source in
            indices.withUnsafePointer(as: Index.self) { indexPointer in
                output.withUnsafeMutablePointer(as: UInt8.self) { destination in
                    switch data.dtype.byteSize {
                    case 1: gatherTyped(UInt8.self, source, indexPointer, destination, extent, context)
                    case 2: gatherTyped(UInt16.self, source, indexPointer, destination, extent, context)
                    case 4: gatherTyped(UInt32.self, source, indexPointer, destination, extent, context)
                    default: gatherTyped(UInt64.self, source, indexPointer, destination, extent, context)
                    }
                }
            }
        }
    }

    private static func gatherTyped<Element, Index: FixedWidthInteger>(
        _ type: Element.Type, _ rawSource: UnsafePointer<UInt8>, _ indices: UnsafePointer<Index>,
        _ rawDestination: UnsafeMutablePointer<UInt8>, _ extent: GatherExtent, _ context: ExecutionContext
    ) {
        let source = UnsafeRawPointer(rawSource).assumingMemoryBound(to: Element.self)
        let destination = UnsafeMutableRawPointer(rawDestination).assumingMemoryBound(to: Element.self)
        let inner = extent.inner, axisSize = extent.axisSize, indexCount = extent.indexCount
        let blocks = extent.outer * indexCount
        guard blocks > 0, inner > 0 else { return }
        context.parallelFor(blocks, minimumChunk: max(1, (1 << 16) / inner)) { range in
            for block in range {
                let outer = block / indexCount
                var index = Int(indices[block - outer * indexCount])
                if index < 0 { index += axisSize }
                let from = source + (outer * axisSize + index) * inner
                let to = destination + block * inner
                if inner == 1 {
                    to[0] = from[0]
                } else {
                    to.update(from: from, count: inner)
                }
            }
        }
    }

    /// One element at a time from its output coordinates: the reference for ``gather(data:indices:extent:into:context:)``.
    package static func gatherReference(data: Tensor, indices: Tensor, extent: GatherExtent, into output: Tensor) {
        let indexValues = indices.int64s()
        let size = data.dtype.byteSize
        data.withUnsafeBytes { source in
            output.withUnsafeMutablePointer(as: UInt8.self) { destination in
                for linear in 0..<output.count {
                    let innerCoordinate = linear % extent.inner
                    let indexPosition = (linear / extent.inner) % extent.indexCount
                    let outerCoordinate = linear / (extent.inner * extent.indexCount)
                    var index = Int(indexValues[indexPosition])
                    if index < 0 { index += extent.axisSize }
                    let sourceElement = (outerCoordinate * extent.axisSize + index) * extent.inner + innerCoordinate
                    for byte in 0..<size { destination[linear * size + byte] = source[sourceElement * size + byte] }
                }
            }
        }
    }

    // MARK: GatherElements

    /// `output[i] = data[i with coordinate axis replaced by indices[i]]`, output shaped like indices.
    /// Indices must be int64 or int32 and range-checked against `data.shape[axis]`; every other dim of
    /// `indices` must be at most data's.
    package static func gatherElements(data: Tensor, indices: Tensor, axis: Int, into output: Tensor) {
        switch indices.dtype {
        case .int64: gatherElements(data: data, indices: indices, Int64.self, axis: axis, into: output)
        case .int32: gatherElements(data: data, indices: indices, Int32.self, axis: axis, into: output)
        default: assertionFailure("GatherElements indices must be int32 or int64")
        }
    }

    private static func gatherElements<Index: FixedWidthInteger>(
        data: Tensor, indices: Tensor, _ indexType: Index.Type, axis: Int, into output: Tensor
    ) {
        data.withUnsafePointer(as: UInt8.self) { source in
            indices.withUnsafePointer(as: Index.self) { indexPointer in
                output.withUnsafeMutablePointer(as: UInt8.self) { destination in
                    let raw = UnsafeRawPointer(source), rawOut = UnsafeMutableRawPointer(destination)
                    switch data.dtype.byteSize {
                    case 1: gatherElementsTyped(UInt8.self, raw, data.shape, indexPointer, indices.shape, axis, rawOut)
                    case 2: gatherElementsTyped(UInt16.self, raw, data.shape, indexPointer, indices.shape, axis, rawOut)
                    case 4: gatherElementsTyped(UInt32.self, raw, data.shape, indexPointer, indices.shape, axis, rawOut)
                    default: gatherElementsTyped(UInt64.self, raw, data.shape, indexPointer, indices.shape, axis, rawOut)
                    }
                }
            }
        }
    }

    private static func gatherElementsTyped<Element, Index: FixedWidthInteger>(
        _ type: Element.Type, _ rawSource: UnsafeRawPointer, _ dataShape: [Int], _ indices: UnsafePointer<Index>,
        _ indexShape: [Int], _ axis: Int, _ rawDestination: UnsafeMutableRawPointer
    ) {
        let source = rawSource.assumingMemoryBound(to: Element.self)
        let destination = rawDestination.assumingMemoryBound(to: Element.self)
        let dataStrides = ShapeArithmetic.strides(dataShape)
        let rank = indexShape.count
        let inner = indexShape[rank - 1]
        var rows = 1
        for dim in indexShape.dropLast() { rows *= dim }
        guard rows > 0, inner > 0 else { return }
        let axisStride = dataStrides[axis]
        let innerStride = dataStrides[rank - 1]
        let innerIsAxis = axis == rank - 1
        var coordinates = [Int](repeating: 0, count: rank)
        var rowOffset = 0  // data offset of the row's coordinates, the axis coordinate excluded
        for row in 0..<rows {
            let outputRow = destination + row * inner
            let indexRow = indices + row * inner
            for column in 0..<inner {
                var index = Int(indexRow[column])
                if index < 0 { index += dataShape[axis] }
                let columnOffset = innerIsAxis ? 0 : column * innerStride
                outputRow[column] = source[rowOffset + columnOffset + index * axisStride]
            }
            var outerAxis = rank - 2
            while outerAxis >= 0 {
                coordinates[outerAxis] += 1
                if outerAxis != axis { rowOffset += dataStrides[outerAxis] }
                if coordinates[outerAxis] < indexShape[outerAxis] { break }
                if outerAxis != axis { rowOffset -= dataStrides[outerAxis] * indexShape[outerAxis] }
                coordinates[outerAxis] = 0
                outerAxis -= 1
            }
        }
    }

    /// Element by element from full coordinates: the reference for ``gatherElements(data:indices:axis:into:)``.
    package static func gatherElementsReference(data: Tensor, indices: Tensor, axis: Int, into output: Tensor) {
        let indexValues = indices.int64s()
        let size = data.dtype.byteSize
        let dataStrides = ShapeArithmetic.strides(data.shape)
        data.withUnsafeBytes { source in
            output.withUnsafeMutablePointer(as: UInt8.self) { destination in
                for linear in 0..<output.count {
                    var remaining = linear
                    var sourceElement = 0
                    for dimension in stride(from: indices.rank - 1, through: 0, by: -1) {
                        var coordinate = remaining % indices.shape[dimension]
                        remaining /= indices.shape[dimension]
                        if dimension == axis {
                            coordinate = Int(indexValues[linear])
                            if coordinate < 0 { coordinate += data.shape[axis] }
                        }
                        sourceElement += coordinate * dataStrides[dimension]
                    }
                    for byte in 0..<size { destination[linear * size + byte] = source[sourceElement * size + byte] }
                }
            }
        }
    }
}
