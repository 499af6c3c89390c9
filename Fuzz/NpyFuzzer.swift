// libFuzzer entry for the `.npy` reader; built by `Scripts/fuzz-reader.sh RUNS npy`.

/// Whatever the reader accepts must survive a write/read round trip unchanged.
@_cdecl("LLVMFuzzerTestOneInput")
public func npyReaderFuzzTarget(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let tensor: Tensor
    do {
        tensor = try Tensor(npyData: bytes)
    } catch is NpyError {
        return 0
    } catch {
        fatalError("the .npy reader threw an untyped error: \(error)")
    }
    guard let again = try? Tensor(npyData: tensor.npyData()), again.dtype == tensor.dtype, again.shape == tensor.shape,
          again.withUnsafeBytes({ left in tensor.withUnsafeBytes { right in left.elementsEqual(right) } })
    else { fatalError("a .npy round trip changed the tensor") }
    return 0
}
