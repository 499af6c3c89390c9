/// Which of a model's published versions a ``ModelServer`` keeps loaded and serves.
///
/// Versions that labels point at are loaded in addition to the ones the policy selects.
/// In `config.json`: `{"latest": 2}`, `"all"`, or `{"specific": [3, 5]}`.
public enum VersionPolicy: Sendable, Hashable, CustomStringConvertible {
    /// The `count` highest-numbered versions (the default is the newest one).
    case latest(Int)
    /// Every version in the store.
    case all
    /// Exactly these versions, where present.
    case specific([Int])

    /// The default policy: serve the newest version only.
    public static let `default` = VersionPolicy.latest(1)

    /// The versions this policy selects from `available`, ascending.
    public func select(from available: [Int]) -> [Int] {
        let sorted = available.sorted()
        switch self {
        case .latest(let count): return Array(sorted.suffix(max(count, 0)))
        case .all: return sorted
        case .specific(let versions):
            let wanted = Set(versions)
            return sorted.filter { wanted.contains($0) }
        }
    }

    public var description: String {
        switch self {
        case .latest(let count): return "latest(\(count))"
        case .all: return "all"
        case .specific(let versions): return "specific(\(versions.map(String.init).joined(separator: ", ")))"
        }
    }
}

extension VersionPolicy: Codable {
    private enum Keys: String, CodingKey { case latest, specific }

    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let name = try? single.decode(String.self) {
            guard name == "all" else {
                throw DecodingError.dataCorruptedError(
                    in: single, debugDescription: "unknown version policy '\(name)'; use \"all\", {\"latest\": N} or {\"specific\": [...]}")
            }
            self = .all
            return
        }
        let container = try decoder.container(keyedBy: AnyCodingKey.self)
        let keys = container.allKeys.map(\.stringValue)
        guard keys.count == 1 else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "a version policy has exactly one key, latest or specific; found \(keys.sorted())"))
        }
        switch keys[0] {
        case "latest":
            let count = try container.decode(Int.self, forKey: AnyCodingKey("latest"))
            guard count >= 1 else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [AnyCodingKey("latest")],
                                                        debugDescription: "latest must be at least 1, not \(count)"))
            }
            self = .latest(count)
        case "specific":
            let versions = try container.decode([Int].self, forKey: AnyCodingKey("specific"))
            if let bad = versions.first(where: { $0 < 1 }) {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [AnyCodingKey("specific")],
                                                        debugDescription: "versions are positive integers, not \(bad)"))
            }
            self = .specific(versions)
        default:
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "unknown version policy '\(keys[0])'; use \"all\", {\"latest\": N} or {\"specific\": [...]}"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .all:
            var container = encoder.singleValueContainer()
            try container.encode("all")
        case .latest(let count):
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(count, forKey: .latest)
        case .specific(let versions):
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(versions, forKey: .specific)
        }
    }
}

/// A coding key for any string, used to reject unknown keys in `config.json`.
struct AnyCodingKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { return nil }
}

extension KeyedDecodingContainer where Key == AnyCodingKey {
    /// Throws when the object holds a key outside `known`: a misspelt option must not be ignored silently.
    func rejectUnknownKeys(_ known: Set<String>, codingPath: [any CodingKey]) throws {
        for key in allKeys where !known.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(.init(
                codingPath: codingPath + [key],
                debugDescription: "unknown key '\(key.stringValue)'; known keys: \(known.sorted().joined(separator: ", "))"))
        }
    }
}
