// swift-tools-version:6.1
// A program that embeds Kiln's model server: a separate package that depends on Kiln by path.
import PackageDescription

let package = Package(
    name: "ServingExample",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Kiln", path: "../.."),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    ],
    targets: [
        .executableTarget(
            name: "ServingExample",
            dependencies: [
                .product(name: "Kiln", package: "Kiln"),
                .product(name: "KilnServing", package: "Kiln"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ]
)
