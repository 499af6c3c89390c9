// swift-tools-version:6.1
// Measures KilnServing against direct InferenceSession.run on the MLP fixture. Not a test: run it
// on a quiet machine with `swift run -c release ServingBenchmark` and read the figures it prints.
import PackageDescription

let package = Package(
    name: "ServingBenchmark",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Kiln", path: "../.."),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .executableTarget(
            name: "ServingBenchmark",
            dependencies: [
                .product(name: "Kiln", package: "Kiln"),
                .product(name: "KilnServing", package: "Kiln"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
