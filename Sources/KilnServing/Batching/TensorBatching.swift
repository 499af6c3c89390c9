import Kiln

/// Stacks tensors along axis 0 and splits them back, by whole rows of bytes.
package enum TensorBatching {
    package struct Mismatch: Error, CustomStringConvertible {
        package let description: String
    }

    /// Concatenates `parts` along axis 0. All parts have the same dtype and the same dims after axis 0.
    package static func stack(_ parts: [Tensor]) throws -> Tensor {
        guard let first = parts.first else { throw Mismatch(description: "nothing to stack") }
        if parts.count == 1 { return first }
        guard first.rank >= 1 else { throw Mismatch(description: "cannot stack rank-0 tensors") }
        var rows = 0
        for part in parts {
            guard part.dtype == first.dtype, part.rank == first.rank, part.shape.dropFirst() == first.shape.dropFirst() else {
                throw Mismatch(description: "cannot stack \(part.dtype)\(part.shape) onto \(first.dtype)\(first.shape)")
            }
            rows += part.shape[0]
        }
        let result = try Tensor.uninitialized(first.dtype, shape: [rows] + first.shape.dropFirst())
        result.withUnsafeMutablePointer(as: UInt8.self) { destination in
            var offset = 0
            for part in parts {
                part.withUnsafeBytes { source in
                    if let base = source.baseAddress, source.count > 0 {
                        (destination + offset).update(from: base.assumingMemoryBound(to: UInt8.self), count: source.count)
                    }
                    offset += source.count
                }
            }
        }
        return result
    }

    /// Splits `tensor` along axis 0 into consecutive pieces of `rows[i]` rows each.
    package static func split(_ tensor: Tensor, rows: [Int]) throws -> [Tensor] {
        let total = rows.reduce(0, +)
        guard tensor.rank >= 1, tensor.shape[0] == total else {
            throw Mismatch(description: "output \(tensor.dtype)\(tensor.shape) does not have the batch's \(total) rows on axis 0")
        }
        if rows.count == 1 { return [tensor] }
        let rowBytes = total == 0 ? 0 : tensor.byteCount / total
        let tail = Array(tensor.shape.dropFirst())
        return try tensor.withUnsafeBytes { source in
            var offset = 0
            return try rows.map { count in
                let piece = try Tensor.uninitialized(tensor.dtype, shape: [count] + tail)
                let byteCount = count * rowBytes
                if byteCount > 0, let base = source.baseAddress {
                    piece.withUnsafeMutablePointer(as: UInt8.self) { destination in
                        destination.update(from: (base + offset).assumingMemoryBound(to: UInt8.self), count: byteCount)
                    }
                }
                offset += byteCount
                return piece
            }
        }
    }

    /// Stacks each named input of `requests` into one batch input.
    static func stackInputs(_ requests: [[String: Tensor]], names: [String]) throws -> [String: Tensor] {
        var stacked: [String: Tensor] = [:]
        for name in names {
            stacked[name] = try stack(requests.map { request in
                guard let tensor = request[name] else { throw Mismatch(description: "a request lacks input '\(name)'") }
                return tensor
            })
        }
        return stacked
    }

    /// Splits every output of a batch run back into one output dictionary per request.
    static func splitOutputs(_ outputs: [String: Tensor], rows: [Int]) throws -> [[String: Tensor]] {
        var perRequest = [[String: Tensor]](repeating: [:], count: rows.count)
        for (name, tensor) in outputs {
            let pieces: [Tensor]
            do {
                pieces = try split(tensor, rows: rows)
            } catch {
                throw Mismatch(description: "cannot split output '\(name)': \(error)")
            }
            for (index, piece) in pieces.enumerated() { perRequest[index][name] = piece }
        }
        return perRequest
    }
}
