// libFuzzer entry for the `.kiln` reader. Built by Scripts/fuzz-reader.sh together with the sources
// of the Kiln module (one module, so internal and package API are visible); not part of the package.

/// Every input is loaded twice: as given (exercising header, table and checksum checks) and with its
/// checksums recomputed, so that mutations reach the metadata and graph decoders instead of stopping
/// at the first checksum. What loads must compile into a session and survive a write/read round trip.
@_cdecl("LLVMFuzzerTestOneInput")
public func kilnReaderFuzzTarget(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var bytes = Array(UnsafeBufferPointer(start: data, count: size))
    exercise(bytes)
    KilnFileReader.resealChecksums(&bytes)
    exercise(bytes)
    return 0
}

private func exercise(_ bytes: [UInt8]) {
    let model: Model
    do {
        model = try Model(data: bytes)
    } catch is FormatError {
        return
    } catch is GraphError {
        return
    } catch {
        fatalError("the reader threw an untyped error: \(type(of: error)) \(error)")
    }
    _ = try? InferenceSession(model: model, options: .init(threads: 1))
    // Whatever the reader accepts, the writer must write and the reader read back identically.
    do {
        let written = try model.serialized()
        let reread = try Model(data: written)
        guard try reread.serialized() == written else { fatalError("a write/read round trip changed the file") }
    } catch {
        fatalError("a model that loaded does not round-trip: \(error)")
    }
}
