/// A request the server cannot accept as written (HTTP 400), with a message naming what was wrong.
struct RequestError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
