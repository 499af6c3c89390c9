extension Optional where Wrapped == Tensor {
    /// Runs `body` with the tensor's float32 storage, or with nil when there is no tensor (an omitted
    /// optional input such as a bias).
    package func withUnsafeFloatPointer<R>(_ body: (UnsafePointer<Float>?) throws -> R) throws -> R {
        guard let tensor = self else { return try body(nil) }
        return try tensor.withUnsafePointer(as: Float.self) { try body($0) }
    }
}
