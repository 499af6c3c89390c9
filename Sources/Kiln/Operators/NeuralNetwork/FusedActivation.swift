/// An elementwise activation that `Conv` and `Gemm` apply to their own output, in place, right
/// after computing it (set by the convert-time fusion pass, so the separate pass over the output
/// disappears).
///
/// Kiln-internal node attributes (not ONNX):
/// - `kiln_activation` (string): `"Relu"`, `"Clip"`, `"Sigmoid"`, `"Tanh"`, `"LeakyRelu"`, `"Gelu"` or
///   `"GeluTanh"` (Gelu with `approximate = "tanh"`).
/// - `kiln_activation_params` (floats): `[min, max]` for `Clip` (Relu6 is `[0, 6]`), `[alpha]` for
///   `LeakyRelu`; absent for the others.
package enum FusedActivation: Sendable, Equatable {
    case relu
    case clip(low: Float, high: Float)
    case sigmoid
    case tanh
    case leakyRelu(alpha: Float)
    case gelu
    case geluTanh

    package static let attributeName = "kiln_activation"
    package static let parametersAttributeName = "kiln_activation_params"

    /// The activation a node's attributes ask for; nil when it has none.
    package init?(node: Node) throws {
        guard let name = try node.string(Self.attributeName) else { return nil }
        let parameters = try node.floats(Self.parametersAttributeName) ?? []
        func expectParameters(_ count: Int) throws {
            guard parameters.count == count else {
                throw OperatorError("\(Self.parametersAttributeName) must hold \(count) values for \(name), has \(parameters.count)")
            }
        }
        switch name {
        case "Relu": try expectParameters(0); self = .relu
        case "Sigmoid": try expectParameters(0); self = .sigmoid
        case "Tanh": try expectParameters(0); self = .tanh
        case "Clip": try expectParameters(2); self = .clip(low: parameters[0], high: parameters[1])
        case "LeakyRelu": try expectParameters(1); self = .leakyRelu(alpha: parameters[0])
        case "Gelu": try expectParameters(0); self = .gelu
        case "GeluTanh": try expectParameters(0); self = .geluTanh
        default:
            throw OperatorError("\(Self.attributeName) \"\(name)\" is not one of Relu, Clip, Sigmoid, Tanh, LeakyRelu, Gelu, GeluTanh")
        }
    }

    /// The node attributes that describe this activation.
    package var attributes: [String: Attribute] {
        switch self {
        case .relu: return [Self.attributeName: .string("Relu")]
        case .sigmoid: return [Self.attributeName: .string("Sigmoid")]
        case .tanh: return [Self.attributeName: .string("Tanh")]
        case .clip(let low, let high):
            return [Self.attributeName: .string("Clip"), Self.parametersAttributeName: .floats([low, high])]
        case .leakyRelu(let alpha):
            return [Self.attributeName: .string("LeakyRelu"), Self.parametersAttributeName: .floats([alpha])]
        case .gelu: return [Self.attributeName: .string("Gelu")]
        case .geluTanh: return [Self.attributeName: .string("GeluTanh")]
        }
    }

    /// Applies the activation to `count` floats in place, with the same scalar functions as the
    /// standalone operators so fused and unfused graphs give identical results.
    package func apply(_ values: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .relu:
            for index in 0..<count { values[index] = values[index] < 0 ? 0 : values[index] }
        case .clip(let low, let high):
            for index in 0..<count { values[index] = Self.clamp(values[index], low: low, high: high) }
        case .sigmoid:
            for index in 0..<count { values[index] = FastMath.sigmoid(values[index]) }
        case .tanh:
            for index in 0..<count { values[index] = FastMath.tanh(values[index]) }
        case .leakyRelu(let alpha):
            for index in 0..<count { values[index] = values[index] < 0 ? alpha * values[index] : values[index] }
        case .gelu:
            for index in 0..<count { values[index] = FastMath.gelu(values[index]) }
        case .geluTanh:
            for index in 0..<count { values[index] = FastMath.geluTanh(values[index]) }
        }
    }

    /// `(low, high)` when the activation is a clamp (Relu is `(0, +inf)`), so a kernel can apply it
    /// inside its own loop through ``clamp(_:low:high:)``, with the same results as
    /// ``apply(_:count:)``; nil for the others.
    package var clampBounds: (low: Float, high: Float)? {
        switch self {
        case .relu: return (0, .infinity)
        case .clip(let low, let high): return (low, high)
        default: return nil
        }
    }

    /// The activation to apply after a kernel that clamps inside its loop: nil for a clamp, this
    /// activation otherwise.
    package var unlessClamp: FusedActivation? { clampBounds == nil ? self : nil }

    /// `destination[0..<count] = activation(source[0..<count])` (a plain copy for nil), the clamp
    /// applied while copying, for kernels that assemble output rows in a buffer. Copying a row out
    /// and then applying Relu to it in place read back stores still in flight, and stalled: a 3x3
    /// layer of 16 to 64 channels at 55 x 55 (SqueezeNet's first expand3x3, Winograd F(4x4)) ran in
    /// 0.89 ms that way against 0.54 ms with this, at 1 thread.
    @inline(__always)
    package static func store(_ source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>,
                              count: Int, activation: FusedActivation?) {
        let (low, high) = activation?.clampBounds ?? (-.infinity, .infinity)
        for index in 0..<count { destination[index] = clamp(source[index], low: low, high: high) }
        activation?.unlessClamp?.apply(destination, count: count)
    }

    /// `x` clamped to `low...high`; with `(-inf, +inf)` it is `x` itself, NaN included.
    @inline(__always)
    package static func clamp(_ x: Float, low: Float, high: Float) -> Float {
        let raised = x < low ? low : x
        return raised > high ? high : raised
    }

    /// The scalar reference of ``apply(_:count:)``.
    package func reference(_ x: Float) -> Float {
        switch self {
        case .relu: return x < 0 ? 0 : x
        case .clip(let low, let high): return Swift.min(Swift.max(x, low), high)
        case .sigmoid: return ReferenceMath.sigmoid(x)
        case .tanh: return ReferenceMath.tanh(x)
        case .leakyRelu(let alpha): return x < 0 ? alpha * x : x
        case .gelu: return ReferenceMath.gelu(x)
        case .geluTanh: return ReferenceMath.geluTanh(x)
        }
    }
}
