import Kiln
import Testing

/// The short-row copy and zeroing write exactly `count` floats, whatever the count's remainder by 4,
/// and touch nothing on either side of the destination.
@Suite struct ShortRowsTests {
    @Test(arguments: Array(0...41))
    func copiesExactlyTheRange(count: Int) {
        let guardFloats = 8
        let source = (0..<(count + 2 * guardFloats)).map { Float($0) + 0.5 }
        var destination = [Float](repeating: -1, count: count + 2 * guardFloats)
        source.withUnsafeBufferPointer { from in
            destination.withUnsafeMutableBufferPointer { to in
                ShortRows.copy(from.baseAddress! + guardFloats, to: to.baseAddress! + guardFloats, count: count)
            }
        }
        #expect(Array(destination[guardFloats..<(guardFloats + count)]) == Array(source[guardFloats..<(guardFloats + count)]))
        #expect(destination[..<guardFloats].allSatisfy { $0 == -1 })
        #expect(destination[(guardFloats + count)...].allSatisfy { $0 == -1 })
    }

    @Test(arguments: Array(0...9))
    func zeroesExactlyTheRange(count: Int) {
        var values = [Float](repeating: 7, count: count + 4)
        values.withUnsafeMutableBufferPointer { ShortRows.zero($0.baseAddress! + 2, count: count) }
        #expect(values[..<2].allSatisfy { $0 == 7 } && values[(count + 2)...].allSatisfy { $0 == 7 })
        #expect(values[2..<(count + 2)].allSatisfy { $0 == 0 })
    }
}
