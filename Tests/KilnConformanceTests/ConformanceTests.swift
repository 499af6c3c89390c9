import Foundation
import Kiln
import Testing

/// The ONNX backend node tests (generated into `Conformance/node` by `Scripts/generate-conformance.py`,
/// which `Scripts/test.sh` runs). Every test named in `expected-pass.txt` must pass; the full outcome
/// is written to `.build/conformance-report.json`, from which `Scripts/python/operators_doc.py` makes
/// the table in Docs/OPERATORS.md. `KILN_CONFORMANCE_UPDATE=1` rewrites the list from this run.
@Suite struct ConformanceTests {
    @Test(.enabled(if: ConformanceRunner.isAvailable,
                   "Conformance/node is absent: run `.venv/bin/python Scripts/generate-conformance.py` (Scripts/test.sh does)"))
    func expectedNodeTestsPass() async throws {
        var outcomes: [(test: ConformanceCase, outcome: ConformanceOutcome)] = []
        for folder in try ConformanceRunner.caseFolders() {
            let test = try ConformanceRunner.load(folder)
            outcomes.append((test, ConformanceRunner.run(test, in: folder)))
            // Thousands of small synchronous runs: give the cooperative pool back between them so
            // concurrently running async tests (serving) are not starved on a 2-core machine.
            await Task.yield()
        }
        try writeReport(outcomes)

        let passing = Set(outcomes.filter { $0.outcome == .passed }.map(\.test.name))
        if ProcessInfo.processInfo.environment["KILN_CONFORMANCE_UPDATE"] == "1" {
            let list = passing.sorted().joined(separator: "\n") + "\n"
            try list.write(to: ConformanceRunner.expectedPassList, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: ConformanceRunner.expectedPassList, encoding: .utf8)
            .split(separator: "\n").map(String.init).filter { !$0.isEmpty && !$0.hasPrefix("#") }
        let byName = Dictionary(outcomes.map { ($0.test.name, $0.outcome) }, uniquingKeysWith: { first, _ in first })
        for name in expected {
            let outcome = byName[name]
            #expect(outcome == .passed, "\(name) is expected to pass: \(outcome.map { "\($0.label): \($0.reason)" } ?? "test not found")")
        }
        print("conformance: \(passing.count) of \(outcomes.count) node tests passed; \(expected.count) expected")
    }

    private func writeReport(_ outcomes: [(test: ConformanceCase, outcome: ConformanceOutcome)]) throws {
        let entries: [[String: Any]] = outcomes.map { test, outcome in
            ["name": test.name, "operator": test.operator ?? "", "opset": test.opset ?? 0,
             "outcome": outcome.label, "reason": outcome.reason]
        }
        let report: [String: Any] = ["supported_operators": OperatorRegistry.supportedOpTypes, "tests": entries]
        let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        try FileManager.default.createDirectory(at: ConformanceRunner.report.deletingLastPathComponent(),
                                                withIntermediateDirectories: true)
        try data.write(to: ConformanceRunner.report)
    }
}
