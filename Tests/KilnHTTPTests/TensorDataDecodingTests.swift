import Foundation
import Kiln
@testable import KilnHTTP
import Testing

/// The typed reading of JSON `data` for every datatype, flat and nested, and its refusals.
@Suite("JSON tensor data")
struct TensorDataDecodingTests {
    private func decode(_ json: String) throws -> InferenceRequest {
        let decoder = JSONDecoder()
        decoder.userInfo[InferenceRequest.elementBudgetKey] = ElementBudget(json.utf8.count)
        return try decoder.decode(InferenceRequest.self, from: Data(json.utf8))
    }

    private func input(_ datatype: String, _ shape: [Int], _ data: String) throws -> Tensor {
        let request = try decode(#"{"inputs": [{"name": "t", "datatype": "\#(datatype)", "shape": \#(shape), "data": \#(data)}]}"#)
        return try #require(request.inputs.first?.tensor)
    }

    private func refusal(_ datatype: String, _ shape: [Int], _ data: String) -> String {
        do {
            _ = try input(datatype, shape, data)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test func everyDatatypeReadsFlatAndNested() throws {
        #expect(try input("INT64", [2, 2], "[[1, 2], [3, -4]]").scalars(as: Int64.self) == [1, 2, 3, -4])
        #expect(try input("INT64", [2, 2], "[1, 2, 3, 9007199254740993]").scalars(as: Int64.self) == [1, 2, 3, 9_007_199_254_740_993])
        #expect(try input("INT32", [3], "[-2147483648, 0, 2147483647]").scalars(as: Int32.self) == [.min, 0, .max])
        #expect(try input("INT8", [2], "[-128, 127]").scalars(as: Int8.self) == [-128, 127])
        #expect(try input("UINT8", [1, 2], "[[0, 255]]").scalars(as: UInt8.self) == [0, 255])
        #expect(try input("BOOL", [2, 1], "[[true], [false]]").scalars(as: Bool.self) == [true, false])
        #expect(try input("FP16", [2], "[1.5, -2]").scalars(as: Float16.self) == [1.5, -2])
        #expect(try input("FP32", [2], "[1, 2.25]").scalars(as: Float.self) == [1, 2.25])
        #expect(try input("FP32", [], "[7]").scalars(as: Float.self) == [7])
        #expect(try input("FP32", [0, 3], "[]").count == 0)
        #expect(try input("FP32", [2, 2, 2], "[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]").scalars(as: Float.self) == [1, 2, 3, 4, 5, 6, 7, 8])
    }

    @Test func valuesOutOfRangeOrOfTheWrongKindAreRefused() {
        #expect(refusal("INT8", [1], "[128]").contains("out of range"))
        #expect(refusal("UINT8", [1], "[-1]").contains("out of range"))
        #expect(refusal("INT64", [1], "[1.5]").contains("datatype"))
        #expect(refusal("BOOL", [1], "[1]").contains("datatype"))
        #expect(refusal("FP32", [1], "[true]").contains("datatype"))
        #expect(refusal("FP32", [1], "[null]").contains("datatype"))
    }

    @Test func dataMustMatchTheShapeExactly() {
        #expect(refusal("FP32", [2, 2], "[[1, 2], [3]]").contains("nested"))
        #expect(refusal("FP32", [2, 2], "[[1, 2], [3, 4], [5, 6]]").contains("nested"))
        #expect(refusal("FP32", [2, 2], "[[[1], [2]], [[3], [4]]]").contains("datatype"))
        #expect(refusal("FP32", [2, 2], "[[1, 2], 3, 4]").contains("nested"))
        #expect(refusal("FP32", [4], "[[1, 2], [3, 4]]").contains("2 values"))
        #expect(refusal("FP32", [3], "[1, 2]").contains("2 values"))
        #expect(refusal("FP32", [1], "5").contains("must be an array"))
    }

    @Test func declaredSizesAreCheckedAgainstTheBodyBeforeReading() throws {
        // Each input alone would fit in the body, together they cannot.
        let json = #"{"inputs": [{"name": "a", "datatype": "FP32", "shape": [60], "data": []}, {"name": "b", "datatype": "FP32", "shape": [60], "data": []}]}"#
        let decoder = JSONDecoder()
        decoder.userInfo[InferenceRequest.elementBudgetKey] = ElementBudget(100)
        #expect(throws: RequestError.self) { try decoder.decode(InferenceRequest.self, from: Data(json.utf8)) }
    }
}
