/// Copying and zeroing rows of a few to a few dozen floats (the planes of MobileNetV2's 7x7 to 28x28
/// depthwise layers, the padding columns of a row), where a `memmove` or `memset` call per row costs
/// more than the work, and a plain loop does not vectorize at the baseline SSE2 build because it has
/// to handle any count.
package enum ShortRows {
    /// `destination[0..<count] = source[0..<count]`, for ranges that do not overlap: whole `SIMD4`
    /// steps, the last one ending exactly at `count` (it may rewrite a few floats the step before it
    /// wrote, with the same values), so nothing outside either range is read or written.
    @inline(__always)
    package static func copy(_ source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, count: Int) {
        guard count >= 4 else {
            for index in 0..<count { destination[index] = source[index] }
            return
        }
        let from = UnsafeRawPointer(source), to = UnsafeMutableRawPointer(destination)
        var index = 0
        while index + 4 < count {
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: index * 4, as: SIMD4<Float>.self),
                          toByteOffset: index * 4, as: SIMD4<Float>.self)
            index += 4
        }
        let last = (count - 4) * 4
        to.storeBytes(of: from.loadUnaligned(fromByteOffset: last, as: SIMD4<Float>.self),
                      toByteOffset: last, as: SIMD4<Float>.self)
    }

    /// Writes `count` zeros: one or two (a row's padding) as plain stores, more through `memset`.
    @inline(__always)
    package static func zero(_ start: UnsafeMutablePointer<Float>, count: Int) {
        switch count {
        case ...0: return
        case 1: start[0] = 0
        case 2: start[0] = 0; start[1] = 0
        default: start.update(repeating: 0, count: count)
        }
    }
}
