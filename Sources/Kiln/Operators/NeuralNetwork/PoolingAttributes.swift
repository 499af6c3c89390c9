/// The attributes and evaluation shared by `MaxPool` and `AveragePool`: a window given by
/// `kernel_shape` (required), `strides`, `dilations`, `pads` / `auto_pad` and `ceil_mode`, slid over
/// every channel plane of `X [N, C, D1...Dn]`.
package struct PoolingAttributes: Sendable {
    package let window: SlidingWindowAttributes
    package let kernel: [Int]
    package let ceilMode: Bool

    package init(node: Node) throws {
        window = try SlidingWindowAttributes(node: node)
        guard let kernel = window.kernelShape, !kernel.isEmpty else {
            throw OperatorError("kernel_shape is required")
        }
        self.kernel = kernel
        ceilMode = try node.int("ceil_mode", default: 0) != 0
        // ONNX Runtime rejects these too: a pad as large as the kernel makes windows of padding only.
        let (padsBegin, padsEnd) = window.pads(rank: kernel.count)
        for axis in kernel.indices where padsBegin[axis] >= kernel[axis] || padsEnd[axis] >= kernel[axis] {
            throw OperatorError("pads (\(padsBegin[axis]), \(padsEnd[axis])) on spatial axis \(axis) must be smaller than the kernel size \(kernel[axis])")
        }
    }

    private func checkRank(_ rank: Int) throws {
        guard rank == kernel.count + 2 else {
            throw OperatorError("input X has rank \(rank), but kernel_shape \(kernel) needs rank \(kernel.count + 2) ([N, C, spatial...])")
        }
    }

    package func inferTypes(_ inputs: [InferenceInput], opType: String, symbols: inout SymbolGenerator) throws -> [TensorType] {
        let input = try ShapeInference.requireType(inputs, 0)
        guard input.dtype == .float32 else { throw OperatorError("\(opType) supports float32, got \(input.dtype)") }
        guard let shape = input.shape else {
            return [TensorType(.float32, [symbols.fresh(), symbols.fresh()] + kernel.map { _ in symbols.fresh() })]
        }
        try checkRank(shape.count)
        let spatial = try window.forwardOutputDims(input: Array(shape[2...]), kernel: kernel, ceilMode: ceilMode,
                                                   symbols: &symbols)
        return [TensorType(.float32, Array(shape[0..<2]) + spatial)]
    }

    package func run(_ input: Tensor, mode: PoolingMode, opType: String, context: ExecutionContext) throws -> Tensor {
        guard input.dtype == .float32 else { throw OperatorError("\(opType) supports float32, got \(input.dtype)") }
        try checkRank(input.rank)
        let geometry = try window.forwardGeometry(inputSize: Array(input.shape[2...]), kernel: kernel, ceilMode: ceilMode)
        let planes = input.shape[0] * input.shape[1]
        let output = try Tensor.uninitialized(.float32, shape: Array(input.shape[0..<2]) + geometry.outputSize)
        guard output.count > 0 else { return output }
        let inputVolume = geometry.inputVolume, outputVolume = geometry.outputVolume
        let scratchCount = PoolingKernels.scratchCount(geometry, mode: mode)
        // One scratch plane per thread, taken on the calling thread so a planned run serves it from
        // its arena instead of the heap.
        let scratchBase = try KernelScratch.floats(rows: context.threads, columns: max(1, scratchCount),
                                                   purpose: "\(opType) scratch")
        defer { KernelScratch.release(scratchBase) }
        input.withUnsafePointer(as: Float.self) { x in
            output.withUnsafeMutablePointer(as: Float.self) { y in
                let work = max(1, outputVolume * geometry.kernelVolume)
                context.parallelChunks(planes, minimumChunk: max(1, 32_768 / work)) { chunk, range in
                    let scratch = scratchBase + chunk * max(1, scratchCount)
                    for plane in range {
                        PoolingKernels.pool(x + plane * inputVolume, geometry: geometry, mode: mode,
                                            output: y + plane * outputVolume, scratch: scratch)
                    }
                }
            }
        }
        return output
    }
}
