import Kiln

/// Checks a request's inputs against a version's declared inputs before it is queued, so a bad
/// request fails alone and at once instead of inside a batch.
enum InputValidation {
    /// - Returns: The size of axis 0 (the request's rows) when `batchSymbol` is set, else 1.
    static func validate(_ inputs: [String: Tensor], against declared: [ValueInfo],
                         batchSymbol: String?) throws(SessionError) -> Int {
        let bindings = try InferenceSession.validate(inputs, against: declared)
        guard let batchSymbol else { return 1 }
        return bindings[batchSymbol] ?? 1
    }
}
