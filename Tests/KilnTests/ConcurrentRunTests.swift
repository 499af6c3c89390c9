import Dispatch
import Kiln
import KilnTestSupport
import Synchronization
import Testing

/// `InferenceSession.run` is documented as safe to call from many threads at once: one session,
/// many concurrent runs on different inputs, each result must equal ONNX Runtime's.
@Suite struct ConcurrentRunTests {
    @Test func oneSessionServesManyThreadsAtOnce() throws {
        let fixture = Fixture("encoder")
        let session = try InferenceSession(model: fixture.model(), options: .init(threads: 1))
        let cases = try fixture.cases().map { (try fixture.tensors(in: $0.inputs), try fixture.tensors(in: $0.expected)) }
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 32) { iteration in
            let (inputs, expected) = cases[iteration % cases.count]
            do {
                let outputs = try session.run(inputs)
                for (name, reference) in expected {
                    guard let actual = outputs[name] else {
                        failures.withLock { $0.append("run \(iteration): output \(name) missing") }
                        continue
                    }
                    let comparison = Comparison.compare(actual, reference, rtol: 1e-4, atol: 1e-4)
                    if !comparison.isClose { failures.withLock { $0.append("run \(iteration) \(name): \(comparison)") } }
                }
            } catch {
                failures.withLock { $0.append("run \(iteration): \(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
    }
}
