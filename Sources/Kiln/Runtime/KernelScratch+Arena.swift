extension KernelScratch {
    /// Like ``allocateFloats(rows:columns:purpose:)``, but during a planned session run the buffer
    /// is a block of the run's arena (planned like any allocation of the step, so steady-state runs
    /// do not touch the heap). Give it back with ``release(_:)``, never `deallocate()`.
    /// - Throws: ``OperatorError`` naming `purpose` when the buffer would be too large.
    package static func floats(rows: Int, columns: Int, purpose: String) throws -> UnsafeMutablePointer<Float> {
        guard let allocator = RunAllocator.current else {
            return try allocateFloats(rows: rows, columns: columns, purpose: purpose)
        }
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow, count <= maximumFloats else {
            throw OperatorError("the \(purpose) buffer of \(rows) x \(columns) floats is too large")
        }
        return allocator.scratch(byteCount: max(1, count) * MemoryLayout<Float>.stride)
            .assumingMemoryBound(to: Float.self)
    }

    /// Ends the use of a buffer from ``floats(rows:columns:purpose:)``: frees a heap buffer; an arena
    /// block stays reserved until the step ends.
    package static func release(_ buffer: UnsafeMutablePointer<Float>?) {
        guard let buffer else { return }
        if let allocator = RunAllocator.current, allocator.holdsScratch(UnsafeMutableRawPointer(buffer)) { return }
        buffer.deallocate()
    }
}
