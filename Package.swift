// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "breaker-run",
    products: [
        .executable(name: "breaker-run", targets: ["breaker-run"]),
        // The same commands with the network plugins (HTTP calls and probes,
        // the PostgreSQL backend); the core hands over to it (README, "Two binaries").
        .executable(name: "breaker-run-full", targets: ["breaker-run-full"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // HTTPCall imports these itself; async-http-client brings the same versions.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.100.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.30.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .target(name: "CircuitBreaker"),
        .target(
            name: "BreakerRunKit",
            dependencies: [
                "CircuitBreaker",
                "CYAML",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The NIO-based plugins, kept out of the core binary: they double its
        // start-up cost (conformance records, relocations; docs/BENCHMARKS.md).
        .target(
            name: "BreakerRunNetwork",
            dependencies: [
                "BreakerRunKit",
                "CircuitBreaker",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        // The subcommands, shared by both executables.
        .target(
            name: "BreakerRunCommandLine",
            dependencies: [
                "BreakerRunKit",
                "CircuitBreaker",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "breaker-run", dependencies: ["BreakerRunCommandLine"]),
        .executableTarget(name: "breaker-run-full", dependencies: ["BreakerRunCommandLine", "BreakerRunNetwork"]),
        // Records many calls on one breaker for bench/run.sh's history figures.
        .executableTarget(name: "breaker-run-bench-seed", dependencies: ["BreakerRunKit", "CircuitBreaker"], path: "bench/Seed"),
        .testTarget(name: "CircuitBreakerTests", dependencies: ["CircuitBreaker"]),
        .testTarget(name: "BreakerRunKitTests", dependencies: ["BreakerRunKit"]),
        .testTarget(name: "EndToEndTests", dependencies: ["breaker-run", "breaker-run-full"]),
    ],
    swiftLanguageModes: [.v6]
)
