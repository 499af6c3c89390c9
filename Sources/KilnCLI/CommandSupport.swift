import ArgumentParser
import Foundation
import Kiln

/// Prints `kiln: error: <message>` as one line on stderr and exits non-zero.
///
/// Every subcommand funnels its work through this, so a bad file or argument never ends in a stack
/// trace or a signal: library errors are typed and their descriptions are single lines.
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        let message = "\(error)".replacingOccurrences(of: "\n", with: " ")
        FileHandle.standardError.write(Data("kiln: error: \(message)\n".utf8))
        throw ExitCode.failure
    }
}

/// A `NAME=PATH` pair from the command line.
struct NamedPath: ExpressibleByArgument {
    let name: String
    let path: String

    init?(argument: String) {
        guard let separator = argument.firstIndex(of: "="), separator != argument.startIndex else { return nil }
        name = String(argument[..<separator])
        path = String(argument[argument.index(after: separator)...])
        guard !path.isEmpty else { return nil }
    }
}

/// A `SYMBOL=SIZE` binding of a symbolic dim, used to synthesize inputs.
struct DimBinding: ExpressibleByArgument {
    let symbol: String
    let size: Int

    init?(argument: String) {
        let parts = argument.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, let size = Int(parts[1]), size >= 0 else { return nil }
        symbol = String(parts[0])
        self.size = size
    }
}

enum CommandError: Error, CustomStringConvertible {
    case duplicateInput(String)
    case cannotSynthesize(input: String, symbol: String)
    case usage(String)

    var description: String {
        switch self {
        case .duplicateInput(let name): return "input '\(name)' is given more than once"
        case .cannotSynthesize(let input, let symbol):
            return "input '\(input)' has symbolic dim '\(symbol)': give it with --input or bind it with --dim \(symbol)=SIZE"
        case .usage(let message): return message
        }
    }
}

/// Reads `--input NAME=FILE.npy` arguments into tensors.
func loadInputs(_ arguments: [NamedPath]) throws -> [String: Tensor] {
    var inputs: [String: Tensor] = [:]
    for argument in arguments {
        guard inputs[argument.name] == nil else { throw CommandError.duplicateInput(argument.name) }
        inputs[argument.name] = try Tensor(npyContentsOf: URL(filePath: argument.path))
    }
    return inputs
}

/// Deterministic pseudo-random inputs for every model input not given explicitly.
func synthesizeMissingInputs(_ given: [String: Tensor], model: Model, dims: [DimBinding]) throws -> [String: Tensor] {
    var inputs = given
    let bindings = Dictionary(dims.map { ($0.symbol, $0.size) }, uniquingKeysWith: { _, last in last })
    var generator = SplitMix64(seed: 0x6B696C6E)
    for info in model.inputs where inputs[info.name] == nil {
        let declared = info.type.shape ?? []
        var shape: [Int] = []
        for dim in declared {
            switch dim {
            case .fixed(let size): shape.append(size)
            case .symbolic(let symbol):
                guard let size = bindings[symbol] else { throw CommandError.cannotSynthesize(input: info.name, symbol: symbol) }
                shape.append(size)
            }
        }
        let count = try ShapeArithmetic.elementCount(shape)
        switch info.type.dtype {
        case .float32:
            inputs[info.name] = try Tensor(shape: shape, scalars: (0..<count).map { _ in generator.nextUnitFloat() * 2 - 1 })
        case .int64:
            inputs[info.name] = try Tensor(shape: shape, scalars: [Int64](repeating: 1, count: count))
        case .int32:
            inputs[info.name] = try Tensor(shape: shape, scalars: [Int32](repeating: 1, count: count))
        default:
            inputs[info.name] = try Tensor(zeros: info.type.dtype, shape: shape)
        }
    }
    return inputs
}

/// A small, fast, deterministic generator (SplitMix64) for synthesized benchmark inputs.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextUnitFloat() -> Float { Float(next() >> 40) / Float(1 << 24) }
}

/// Milliseconds elapsed while running `body`.
func measureMilliseconds<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let start = ContinuousClock.now
    let result = try body()
    return (result, (ContinuousClock.now - start).milliseconds)
}

extension Duration {
    /// The duration in milliseconds, as a Double.
    var milliseconds: Double { Double(components.seconds) * 1e3 + Double(components.attoseconds) * 1e-15 }
}

/// Prints an Encodable value as one line of sorted-key JSON on stdout.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}
