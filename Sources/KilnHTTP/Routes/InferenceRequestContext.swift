import Hummingbird
import NIOCore

/// The request context of ``InferenceApplication``: Hummingbird's basic context plus the client's
/// address, which loopback-only model control checks.
public struct InferenceRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
