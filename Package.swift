// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "breaker-run",
    products: [
        .executable(name: "breaker-run", targets: ["breaker-run"]),
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
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .executableTarget(
            name: "breaker-run",
            dependencies: [
                "BreakerRunKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Records many calls on one breaker for bench/run.sh's history figures.
        .executableTarget(name: "breaker-run-bench-seed", dependencies: ["BreakerRunKit", "CircuitBreaker"], path: "bench/Seed"),
        .testTarget(name: "CircuitBreakerTests", dependencies: ["CircuitBreaker"]),
        .testTarget(name: "BreakerRunKitTests", dependencies: ["BreakerRunKit"]),
        .testTarget(name: "EndToEndTests", dependencies: ["breaker-run"]),
    ],
    swiftLanguageModes: [.v6]
)
