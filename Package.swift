// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Kiln",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Kiln", targets: ["Kiln"]),
        .library(name: "KilnTestSupport", targets: ["KilnTestSupport"]),
        .library(name: "KilnONNX", targets: ["KilnONNX"]),
        .library(name: "KilnServing", targets: ["KilnServing"]),
        .library(name: "KilnHTTP", targets: ["KilnHTTP"]),
        .executable(name: "kiln", targets: ["KilnCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.80.0"),
    ],
    targets: [
        // OpenBLAS through pkg-config; Debian: `apt-get install libopenblas-dev`.
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // A header-only module: the instruction sets the build targets (see target_features.h).
        .systemLibrary(name: "KilnTargetFeatures"),
        // The core runtime: depends on nothing but the toolchain and OpenBLAS.
        .target(name: "Kiln", dependencies: ["CBLAS", "KilnTargetFeatures"]),
        .target(name: "KilnTestSupport", dependencies: ["Kiln"]),
        // ONNX -> Kiln graph importer. Sources/KilnONNX/Generated/ comes from
        // Scripts/generate-onnx-protobuf.sh and is committed, so builds never need protoc.
        .target(
            name: "KilnONNX",
            dependencies: [
                "Kiln",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // Model store and embeddable server: batching, back-pressure, version swaps, metrics.
        .target(
            name: "KilnServing",
            dependencies: [
                "Kiln",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Open Inference Protocol (KServe v2) REST front end for a ModelServer, on Hummingbird.
        // Never bootstraps MetricsSystem; the application (e.g. `kiln serve`) does.
        .target(
            name: "KilnHTTP",
            dependencies: [
                "Kiln",
                "KilnServing",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "KilnCLI",
            dependencies: [
                "Kiln",
                "KilnONNX",
                "KilnServing",
                "KilnHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "KilnTests",
            dependencies: ["Kiln", "KilnTestSupport"]
        ),
        .testTarget(
            name: "KilnConformanceTests",
            dependencies: ["Kiln", "KilnONNX", "KilnTestSupport"],
            exclude: ["expected-pass.txt"]
        ),
        .testTarget(
            name: "KilnONNXTests",
            dependencies: [
                "KilnONNX",
                "Kiln",
                "KilnTestSupport",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .testTarget(
            name: "KilnServingTests",
            dependencies: [
                "Kiln",
                "KilnServing",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "KilnHTTPTests",
            dependencies: [
                "Kiln",
                "KilnServing",
                "KilnHTTP",
                "KilnTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)

// Benchmarks (ordo-one/package-benchmark) are added only on request, so a package that depends on
// Kiln never resolves or builds the benchmark package:
//     KILN_BENCHMARKS=1 swift package --allow-writing-to-package-directory benchmark
if Context.environment["KILN_BENCHMARKS"] != nil {
    package.dependencies.append(
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]))
    package.targets.append(
        .executableTarget(
            name: "KilnBenchmarks",
            dependencies: ["Kiln", "KilnTestSupport", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/KilnBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ))
}
