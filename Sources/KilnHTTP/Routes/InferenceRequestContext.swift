import Hummingbird
import NIOCore

/// The request context of ``InferenceApplication``: Hummingbird's basic context plus the client's
/// address, which loopback-only model control checks.
public struct InferenceRequestContext: RequestContext, RemoteAddressRequestContext {
    /// Hummingbird's per-request storage (parameters, logger...).
    public var coreContext: CoreRequestContextStorage
    /// The client's address, when the channel knows it.
    public let remoteAddress: SocketAddress?

    /// Made by the application for each request.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
