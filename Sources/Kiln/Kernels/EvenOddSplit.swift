/// Splitting a row into its even and odd columns, so that a stride-2 window reads each tap as one
/// contiguous run (depthwise convolution, pooling).
///
/// Written as four pairs per step through two `SIMD4` loads and two shuffles: the plain loop (one
/// even and one odd element per iteration) does not vectorize at the baseline SSE2 build and took a
/// quarter of the stride-2 depthwise kernel's time.
package enum EvenOddSplit {
    /// Writes columns `0..<paddedWidth` of one padded input row, split into its even columns (to
    /// `even`) and odd columns (to `odd`), where columns `first..<last` are `source[column]` and the
    /// rest are padding zeros.
    package static func split(_ source: UnsafePointer<Float>, first: Int, last: Int, paddedWidth: Int,
                              even: UnsafeMutablePointer<Float>, odd: UnsafeMutablePointer<Float>) {
        let evenCount = (paddedWidth + 1) / 2, oddCount = paddedWidth / 2
        guard first < last else {
            even.update(repeating: 0, count: evenCount)
            odd.update(repeating: 0, count: oddCount)
            return
        }
        ShortRows.zero(even, count: (first + 1) / 2)
        ShortRows.zero(odd, count: first / 2)
        var column = first
        if column & 1 == 1 {
            odd[column >> 1] = source[column]
            column += 1
        }
        let pairs = (last - column) / 2
        let pairSource = UnsafeRawPointer(source + column)
        let evenRun = UnsafeMutableRawPointer(even + column / 2), oddRun = UnsafeMutableRawPointer(odd + column / 2)
        var pair = 0
        while pair + 4 <= pairs {
            let low = pairSource.loadUnaligned(fromByteOffset: pair * 8, as: SIMD4<Float>.self)
            let high = pairSource.loadUnaligned(fromByteOffset: pair * 8 + 16, as: SIMD4<Float>.self)
            evenRun.storeBytes(of: SIMD4(low[0], low[2], high[0], high[2]), toByteOffset: pair * 4, as: SIMD4<Float>.self)
            oddRun.storeBytes(of: SIMD4(low[1], low[3], high[1], high[3]), toByteOffset: pair * 4, as: SIMD4<Float>.self)
            pair += 4
        }
        while pair < pairs {
            even[column / 2 + pair] = source[column + 2 * pair]
            odd[column / 2 + pair] = source[column + 2 * pair + 1]
            pair += 1
        }
        column += 2 * pairs
        if column < last {
            even[column >> 1] = source[column]
        }
        let evenStart = (last + 1) / 2, oddStart = last / 2
        if evenCount > evenStart { ShortRows.zero(even + evenStart, count: evenCount - evenStart) }
        if oddCount > oddStart { ShortRows.zero(odd + oddStart, count: oddCount - oddStart) }
    }
}
