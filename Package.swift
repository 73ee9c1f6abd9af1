// swift-tools-version: 6.0
import PackageDescription

/// The core binary as shipped (`make`, which sets BREAKER_RUN_STATIC_PIE=1 and
/// passes --disable-local-rpath) is a static PIE: glibc, libstdc++ and libyaml
/// linked in, so no dynamic loader runs at start-up (about 2 ms less per run,
/// docs/BENCHMARKS.md), while ASLR is kept. lld links it, since gold cannot;
/// `-z pack-relative-relocs` (DT_RELR) shrinks its start-up relocations.
/// glibc refuses to start a static PIE that has a RUNPATH, which SwiftPM adds
/// unless --disable-local-rpath is given: hence the opt-in. Other builds
/// (`swift build`, `swift test`) link the ordinary way. The full binary
/// stays dynamic: NIO resolves names through glibc's NSS modules, which a
/// static binary can load only from the very glibc it was linked with.
let coreLinkerSettings: [LinkerSetting] = Context.environment["BREAKER_RUN_STATIC_PIE"] == "1"
    ? [.unsafeFlags([
        "-static-executable", "-use-ld=lld", "-Xclang-linker", "-static-pie",
        "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
    ])]
    : []

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
        // glibc's posix_spawn file actions that need _GNU_SOURCE.
        .target(name: "CPlatform"),
        .target(name: "CircuitBreaker"),
        .target(
            name: "BreakerRunKit",
            dependencies: [
                "CircuitBreaker",
                "CYAML",
                "CPlatform",
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
        .executableTarget(name: "breaker-run", dependencies: ["BreakerRunCommandLine", "CPlatform"], linkerSettings: coreLinkerSettings),
        .executableTarget(name: "breaker-run-full", dependencies: ["BreakerRunCommandLine", "BreakerRunNetwork"]),
        // Records many calls on one breaker for bench/run.sh's history figures.
        .executableTarget(name: "breaker-run-bench-seed", dependencies: ["BreakerRunKit", "CircuitBreaker"], path: "bench/Seed"),
        // What the tests share: an in-memory state backend, a scripted call
        // kind, a clock moved by hand, recording streams and log, and the
        // state machine's vocabulary. Used by the test targets only.
        .target(
            name: "BreakerRunTestSupport",
            dependencies: [
                "BreakerRunKit",
                "CircuitBreaker",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "CircuitBreakerTests", dependencies: ["CircuitBreaker", "BreakerRunTestSupport"]),
        .testTarget(name: "BreakerRunKitTests", dependencies: ["BreakerRunKit", "BreakerRunTestSupport"]),
        // The network module too, for the PostgreSQL store's in-process tests against the real server.
        .testTarget(name: "EndToEndTests", dependencies: ["breaker-run", "breaker-run-full", "BreakerRunNetwork", "BreakerRunKit", "CircuitBreaker"]),
    ],
    swiftLanguageModes: [.v6]
)
