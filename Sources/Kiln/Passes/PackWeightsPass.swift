/// Stores the constant weights that a kernel reads in a layout of its own in that layout, so that
/// a loaded model uses the file's mapped bytes as they are: nothing is packed at load or on the
/// first run, and no second copy of the weights is kept in memory (the mapped pages are the page
/// cache's, shared by every process that maps the file).
///
/// - A channels-last group-1 `Conv` that ``DirectConvolutionChannelsLast`` runs: W
///   `[M, C, kH, kW]` becomes `[M / 64, kH * kW, C, 64]`; the same per branch of a
///   ``KilnConcatConvolutions``.
/// - A channels-last 3x3 stride-1 `Conv` that ``WinogradChannelsLast`` runs at batch 1 with its
///   input's static size: W becomes the transform `U` of the tile it runs with, `[36, M / 64, C,
///   64]` for F(4x4) or `[16, M / 64, C, 64]` for F(2x2) (4x and 16/9 of W's size). The transform
///   on the first run had made ResNet-50's first inference 35-56 ms against 27-44 without it, and
///   kept 30 MB of transformed weights beside the mapped originals.
/// - A `Gemm` (transA 0, alpha 1, C absent or a bias over the columns) or a `MatMul` whose B is
///   a constant matrix with a multiple of 64 columns: B becomes ``PackedMatrixMultiplication``'s
///   panels `[N / 64, K, 64]` (whatever transB was).
///
/// The node gets the Kiln-internal attribute `kiln_packed_weights`: 1 for the direct kernels' order
/// (one value per branch on a ``KilnConcatConvolutions``), 2 for F(4x4)'s `U`, 3 for F(2x2)'s. A
/// reordered tensor keeps its ONNX shape, so shape checks and type inference are unchanged; a
/// transformed one has the shape above, which `Conv` reads as `[M, C, 3, 3]`. A weight that
/// another node also reads in ONNX's layout is packed into a new initializer and the original
/// kept for that node.
///
/// Measured on this project's Zen 5 machine (2 threads, AVX-512 build): packing on the first run
/// made ResNet-50's first inference 83-101 ms against 22 ms for the next ones, and kept the packed
/// copy beside the mapped original (peak RSS 178 -> 235 MB).
///
/// A file with packed weights sets the required header flag
/// ``FormatLayout/kernelLayoutWeightsFlag`` (format 1.1), so that a 1.0 reader refuses it instead
/// of reading them in ONNX's layout; one with transformed weights also sets
/// ``FormatLayout/winogradWeightsFlag`` (format 1.2), which a 1.1 reader refuses.
///
/// Like ``ChannelsLastPass`` this depends on the build that converts: it packs only for kernels the
/// build runs (AVX-512). A file packed this way still runs in a build without them: the operator
/// unpacks the weight once, on its first run, and then runs that build's kernels.
public struct PackWeightsPass: GraphPass {
    public let name = "pack_weights"

    /// Marks a node whose weight input is stored in its kernel's layout.
    package static let attributeName = "kiln_packed_weights"

    /// Whether a `Gemm` or `MatMul` node says its B is stored in panels. The attribute is 0 or 1
    /// on them (2 and 3 are `Conv`'s Winograd transforms); any other value is an error.
    package static func storesPanels(_ node: Node) throws -> Bool {
        let value = try node.int(attributeName, default: 0)
        guard value == 0 || value == 1 else {
            throw OperatorError("\(attributeName) must be 0 or 1 on \(node.opType), got \(value)")
        }
        return value == 1
    }

    /// Whether ``DirectConvolutionChannelsLast`` runs in the target build.
    package let directConvolutions: Bool
    /// Whether ``PackedMatrixMultiplication`` runs in the target build.
    package let packedProducts: Bool
    /// Whether ``WinogradChannelsLast`` runs in the target build.
    package let winogradConvolutions: Bool

    /// Packs for the kernels of this build.
    public init() {
        self.init(directConvolutions: DirectConvolutionChannelsLast.isAvailable,
                  packedProducts: PackedMatrixMultiplication.isAvailable,
                  winogradConvolutions: WinogradChannelsLast.isAvailable)
    }

    package init(directConvolutions: Bool, packedProducts: Bool, winogradConvolutions: Bool = false) {
        self.directConvolutions = directConvolutions
        self.packedProducts = packedProducts
        self.winogradConvolutions = winogradConvolutions
    }

    /// The layouts a weight is packed into.
    private enum Layout: Hashable {
        case convolution
        case panels(transposed: Bool)
        case winograd(WinogradChannelsLast.Tile)
    }

    public func run(_ graph: inout Graph) throws -> Int {
        var packedNames: [PackedKey: String] = [:]
        var fired = 0
        // The Winograd choice depends on the input's spatial size.
        if winogradConvolutions { try graph.inferTypes() }
        for index in graph.nodes.indices {
            var node = graph.nodes[index]
            guard node.domain.isEmpty, node.attributes[Self.attributeName] == nil else { continue }
            switch node.opType {
            case "Conv":
                guard node.inputs.count >= 2 else { continue }
                if winogradConvolutions, let (weights, tile) = try winogradWeights(node, in: graph) {
                    node.inputs[1] = try packed(node.inputs[1], weights, .winograd(tile), in: &graph,
                                                names: &packedNames)
                    node.attributes[Self.attributeName] = .int(tile.storedWeightsAttribute)
                    break
                }
                guard directConvolutions,
                      let weights = try convolutionWeights(node, name: node.inputs[1], in: graph) else { continue }
                node.inputs[1] = try packed(node.inputs[1], weights, .convolution, in: &graph, names: &packedNames)
                node.attributes[Self.attributeName] = .int(1)
            case KilnConcatConvolutions.opType:
                guard directConvolutions || winogradConvolutions, node.inputs.count % 2 == 1,
                      let pads = try node.ints("pads"), pads.count == 2 * (node.inputs.count - 1) else { continue }
                var flags: [Int] = []
                for position in stride(from: 1, to: node.inputs.count, by: 2) {
                    // The branch as the Conv that KilnConcatConvolutions runs it with.
                    var branch = node
                    branch.inputs = [node.inputs[0], node.inputs[position]]
                    branch.attributes["pads"] = .ints(Array(pads[2 * (position - 1)..<2 * (position - 1) + 4]))
                    if winogradConvolutions, let (weights, tile) = try winogradWeights(branch, in: graph) {
                        node.inputs[position] = try packed(node.inputs[position], weights, .winograd(tile), in: &graph,
                                                           names: &packedNames)
                        flags.append(tile.storedWeightsAttribute)
                        continue
                    }
                    let weights = directConvolutions ? try convolutionWeights(node, name: node.inputs[position], in: graph) : nil
                    if let weights {
                        node.inputs[position] = try packed(node.inputs[position], weights, .convolution, in: &graph,
                                                           names: &packedNames)
                    }
                    flags.append(weights == nil ? 0 : 1)
                }
                guard flags.contains(where: { $0 != 0 }) else { continue }
                node.attributes[Self.attributeName] = .ints(flags)
            case "Gemm", "MatMul":
                guard packedProducts, let (weights, transposed) = try productWeights(node, in: graph) else { continue }
                node.inputs[1] = try packed(node.inputs[1], weights, .panels(transposed: transposed), in: &graph,
                                            names: &packedNames)
                node.attributes[Self.attributeName] = .int(1)
            default:
                continue
            }
            graph.nodes[index] = node
            fired += 1
        }
        removeUnread(Set(packedNames.keys.map(\.name)), from: &graph)
        return fired
    }

    /// The constant weights `name` of a channels-last group-1 convolution node when it runs the
    /// direct kernel with them (``DirectConvolutionChannelsLast/suits(channels:outputChannels:kernel:dilations:)``).
    private func convolutionWeights(_ node: Node, name: String, in graph: Graph) throws -> Tensor? {
        guard try node.int(ChannelsLastPass.attributeName, default: 0) != 0, try node.int("group", default: 1) == 1,
              let tensor = graph.constant(name), tensor.dtype == .float32, tensor.rank == 4 else { return nil }
        let shape = tensor.shape
        let suits = DirectConvolutionChannelsLast.suits(channels: shape[1], outputChannels: shape[0],
                                                        kernel: [shape[2], shape[3]],
                                                        dilations: try node.ints("dilations") ?? [1, 1])
        return suits ? tensor : nil
    }

    /// The constant W of a `Conv` that ``WinogradChannelsLast`` runs at batch 1 (a channels-last
    /// input whose height and width are known), and the tile it runs with.
    private func winogradWeights(_ node: Node, in graph: Graph) throws -> (Tensor, WinogradChannelsLast.Tile)? {
        guard try node.int(ChannelsLastPass.attributeName, default: 0) == 1, try node.int("group", default: 1) == 1,
              let tensor = graph.constant(node.inputs[1]), tensor.dtype == .float32, tensor.rank == 4,
              let inputShape = graph.valueTypes[node.inputs[0]]?.shape, inputShape.count == 4,
              let height = inputShape[1].value, let width = inputShape[2].value, inputShape[3].value == tensor.shape[1],
              let geometry = try? SlidingWindowAttributes(node: node).forwardGeometry(
                  inputSize: [height, width], kernel: [tensor.shape[2], tensor.shape[3]], ceilMode: false),
              let tile = WinogradChannelsLast.preferredTile(batch: 1, channels: tensor.shape[1],
                                                            outputChannels: tensor.shape[0], geometry: geometry)
        else { return nil }
        return (tensor, tile)
    }

    /// The constant B of a `Gemm` or `MatMul` that runs the packed product in every run it can
    /// (its operator's conditions for the kernel), and whether B is stored transposed.
    private func productWeights(_ node: Node, in graph: Graph) throws -> (Tensor, Bool)? {
        guard node.inputs.count >= 2, let b = graph.constant(node.inputs[1]), b.dtype == .float32, b.rank == 2
        else { return nil }
        if node.opType == "MatMul" {
            return PackedMatrixMultiplication.supports(columns: b.shape[1]) ? (b, false) : nil
        }
        let transposed = try node.int("transB", default: 0) != 0
        guard try node.int("transA", default: 0) == 0, try node.float("alpha", default: 1) == 1,
              PackedMatrixMultiplication.supports(columns: transposed ? b.shape[0] : b.shape[1]) else { return nil }
        let columns = transposed ? b.shape[0] : b.shape[1]
        // Gemm's kernel takes C as a bias over the columns only (with beta 1), or no C.
        if node.inputs.count > 2, !node.inputs[2].isEmpty, try node.float("beta", default: 1) != 0 {
            guard try node.float("beta", default: 1) == 1, let shape = graph.staticShape(node.inputs[2]),
                  shape.count <= 2, shape.last == columns, shape.reduce(1, *) == columns else { return nil }
        }
        return (b, transposed)
    }

    private struct PackedKey: Hashable {
        let name: String
        let layout: Layout
    }

    /// The name of `name`'s tensor packed into `layout`, adding it to the initializers the first
    /// time (nodes that share a weight share its packed copy too).
    private func packed(_ name: String, _ weights: Tensor, _ layout: Layout, in graph: inout Graph,
                        names: inout [PackedKey: String]) throws -> String {
        let key = PackedKey(name: name, layout: layout)
        if let existing = names[key] { return existing }
        let shape = weights.shape
        var packedShape = shape
        if case .winograd(let tile) = layout {
            packedShape = [tile.positions, shape[0] / WinogradChannelsLast.panelWidth, shape[1], WinogradChannelsLast.panelWidth]
        }
        let packed = try Tensor.uninitialized(.float32, shape: packedShape)
        weights.withUnsafePointer(as: Float.self) { source in
            packed.withUnsafeMutablePointer(as: Float.self) { target in
                switch layout {
                case .winograd(let tile):
                    WinogradChannelsLast.transformWeights(source, directLayout: false, tile: tile, channels: shape[1],
                                                          outputChannels: shape[0], into: target,
                                                          context: ExecutionContext(threads: 1))
                case .convolution:
                    DirectConvolutionChannelsLast.packWeights(source, outputChannels: shape[0], channels: shape[1],
                                                              kernelVolume: shape[2] * shape[3], into: target)
                case .panels(let transposed):
                    let (k, n) = transposed ? (shape[1], shape[0]) : (shape[0], shape[1])
                    PackedMatrixMultiplication.pack(source, transposeB: transposed, k: k, n: n, into: target)
                }
            }
        }
        let packedName = graph.unusedName("\(name)_packed")
        graph.initializers[packedName] = packed
        names[key] = packedName
        return packedName
    }

    /// Drops the originals of packed weights that no node or graph output reads any more.
    private func removeUnread(_ originals: Set<String>, from graph: inout Graph) {
        let useCounts = graph.useCounts()
        for name in originals where useCounts[name, default: 0] == 0 && !graph.isGraphOutput(name) {
            graph.initializers[name] = nil
        }
    }
}

extension Graph {
    /// Whether some node reads a weight stored in its kernel's layout (``PackWeightsPass``).
    package var storesKernelLayoutWeights: Bool {
        nodes.contains { $0.attributes[PackWeightsPass.attributeName] != nil }
    }

    /// Whether some `Conv` (or branch of a ``KilnConcatConvolutions``) reads a W stored as a
    /// Winograd transform (``PackWeightsPass``).
    package var storesWinogradWeights: Bool {
        nodes.contains { node in
            switch node.attributes[PackWeightsPass.attributeName] {
            case .int(let value)?: return WinogradChannelsLast.Tile(storedWeightsAttribute: value) != nil
            case .ints(let values)?: return values.contains { WinogradChannelsLast.Tile(storedWeightsAttribute: $0) != nil }
            default: return false
            }
        }
    }
}
