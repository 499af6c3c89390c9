import Kiln
import Testing

/// The short-row copy writes exactly `count` floats, whatever the count's remainder by 4, and touches
/// nothing on either side of the destination.
@Suite struct ShortRowCopyTests {
    @Test(arguments: Array(0...41))
    func copiesExactlyTheRange(count: Int) {
        let guardFloats = 8
        let source = (0..<(count + 2 * guardFloats)).map { Float($0) + 0.5 }
        var destination = [Float](repeating: -1, count: count + 2 * guardFloats)
        source.withUnsafeBufferPointer { from in
            destination.withUnsafeMutableBufferPointer { to in
                ShortRowCopy.copy(from.baseAddress! + guardFloats, to: to.baseAddress! + guardFloats, count: count)
            }
        }
        #expect(Array(destination[guardFloats..<(guardFloats + count)]) == Array(source[guardFloats..<(guardFloats + count)]))
        #expect(destination[..<guardFloats].allSatisfy { $0 == -1 })
        #expect(destination[(guardFloats + count)...].allSatisfy { $0 == -1 })
    }
}
