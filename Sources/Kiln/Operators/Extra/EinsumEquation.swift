/// A parsed `Einsum` equation such as `bhqd,bhkd->bhqk` or `...ij,...jk`.
///
/// Labels are numbered: letters `A`-`Z` are 0-25 and `a`-`z` 26-51 (so numeric order is ASCII
/// order, as the implicit output needs); the dims an ellipsis stands for become labels 52, 53, ...
/// counted from the right, so `...` dims of different operands align like numpy broadcasting.
package struct EinsumEquation: Sendable, Equatable {
    /// One operand's term: letters with the ellipsis at `ellipsisPosition` (an index into `letters`).
    package struct Term: Sendable, Equatable {
        package var letters: [Int]
        package var ellipsisPosition: Int?
    }

    package static let ellipsisBase = 52

    package var inputs: [Term]
    /// The explicit output term, or nil for the implicit form.
    package var output: Term?

    /// Parses `equation` for `operandCount` operands.
    /// - Throws: ``OperatorError`` naming the problem (bad character, misplaced dots, term count).
    package init(_ equation: String, operandCount: Int) throws {
        let text = equation.filter { $0 != " " }
        let sides = text.components(separatedBy: "->")
        guard sides.count <= 2 else { throw OperatorError("equation '\(equation)' has more than one '->'") }
        let terms = sides[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard terms.count == operandCount else {
            throw OperatorError("equation '\(equation)' has \(terms.count) input terms for \(operandCount) inputs")
        }
        inputs = try terms.map { try Self.parseTerm($0, in: equation) }
        output = sides.count == 2 ? try Self.parseTerm(sides[1], in: equation) : nil
        if let output {
            let labels = output.letters
            guard Set(labels).count == labels.count else {
                throw OperatorError("output term '\(sides[1])' of equation '\(equation)' repeats a label")
            }
            let known = Set(inputs.flatMap(\.letters))
            if let missing = labels.first(where: { !known.contains($0) }) {
                throw OperatorError("output label '\(Self.character(missing))' of equation '\(equation)' appears in no input")
            }
            if output.ellipsisPosition != nil && !inputs.contains(where: { $0.ellipsisPosition != nil }) {
                throw OperatorError("the output of equation '\(equation)' has '...' but no input has")
            }
        }
    }

    private static func parseTerm(_ term: String, in equation: String) throws -> Term {
        var letters: [Int] = []
        var ellipsis: Int?
        var characters = Array(term)[...]
        while let character = characters.first {
            if character == "." {
                guard characters.starts(with: ["." , ".", "."]), ellipsis == nil else {
                    throw OperatorError("term '\(term)' of equation '\(equation)' has a misplaced '.' (only one '...' per term)")
                }
                ellipsis = letters.count
                characters = characters.dropFirst(3)
                continue
            }
            guard let ascii = character.asciiValue, character.isLetter else {
                throw OperatorError("equation '\(equation)' has the character '\(character)'; labels are letters")
            }
            letters.append(ascii >= 97 ? Int(ascii) - 97 + 26 : Int(ascii) - 65)
            characters = characters.dropFirst()
        }
        return Term(letters: letters, ellipsisPosition: ellipsis)
    }

    package static func character(_ label: Int) -> Character {
        label < 26 ? Character(UnicodeScalar(UInt8(65 + label))) : Character(UnicodeScalar(UInt8(97 + label - 26)))
    }

    /// Each operand's labels, one per axis, given the operands' ranks.
    package func operandLabels(ranks: [Int]) throws -> [[Int]] {
        try zip(inputs, ranks).enumerated().map { index, pair in
            let (term, rank) = pair
            let ellipsisRank = rank - term.letters.count
            guard let position = term.ellipsisPosition else {
                guard ellipsisRank == 0 else {
                    throw OperatorError("input \(index) has rank \(rank) but its term has \(term.letters.count) labels")
                }
                return term.letters
            }
            guard ellipsisRank >= 0 else {
                throw OperatorError("input \(index) has rank \(rank), fewer than the \(term.letters.count) labels of its term")
            }
            let ellipsisLabels = (0..<ellipsisRank).map { Self.ellipsisBase + ellipsisRank - 1 - $0 }
            return Array(term.letters[..<position]) + ellipsisLabels + Array(term.letters[position...])
        }
    }

    /// The output's labels: the explicit term (its `...` expanded to every ellipsis dim), or the
    /// implicit one (ellipsis dims, then labels used exactly once, in ASCII order).
    package func outputLabels(ranks: [Int]) -> [Int] {
        let ellipsisRank = zip(inputs, ranks).map { term, rank in term.ellipsisPosition == nil ? 0 : rank - term.letters.count }.max() ?? 0
        let ellipsisLabels = (0..<max(ellipsisRank, 0)).map { Self.ellipsisBase + ellipsisRank - 1 - $0 }
        guard let output else {
            var counts: [Int: Int] = [:]
            for term in inputs { for label in term.letters { counts[label, default: 0] += 1 } }
            return ellipsisLabels + counts.filter { $0.value == 1 }.keys.sorted()
        }
        guard let position = output.ellipsisPosition else { return output.letters }
        return Array(output.letters[..<position]) + ellipsisLabels + Array(output.letters[position...])
    }
}
