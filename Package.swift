// swift-tools-version: 6.2
import PackageDescription

let package = Package(
  name: "Weft",
  products: [
    .library(name: "Weft", targets: ["Weft"]),
    // Scheduler.metrics exported to apple/swift-metrics; the core depends on nothing.
    .library(name: "WeftMetrics", targets: ["WeftMetrics"]),
    // Sockets, pipes, files and the HTTP client on Weft's reactor (issue 10).
    .library(name: "WeftNet", targets: ["WeftNet"]),
    // An HTTP/1.1 client on WeftNet's sockets, with apple/swift-http-types' vocabulary.
    .library(name: "WeftHTTP", targets: ["WeftHTTP"]),
    // Julia's Distributed on grpc-swift-2: remote calls, futures, remote channels, pmap (issue 13).
    .library(name: "WeftDistributed", targets: ["WeftDistributed"]),
    .executable(name: "weft-bench", targets: ["weft-bench"]),
    .executable(name: "weft-stress", targets: ["weft-stress"]),
    .executable(name: "weft-metrics-example", targets: ["weft-metrics-example"]),
    .executable(name: "weft-echo", targets: ["weft-echo"]),
    .executable(name: "weft-chat", targets: ["weft-chat"]),
    .executable(name: "weft-http-get", targets: ["weft-http-get"]),
    .executable(name: "weft-async-example", targets: ["weft-async-example"]),
    .executable(name: "weft-montecarlo", targets: ["weft-montecarlo"]),
  ],
  // The Weft library keeps no dependency: swift-metrics serves WeftMetrics only,
  // swift-argument-parser the executables' command lines, swift-http-types WeftHTTP, and
  // swift-docc-plugin `swift package generate-documentation` (a command plugin: nothing links it).
  dependencies: [
    .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
    .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
  ],
  targets: [
    // System libraries: Debian packages installed by Scripts/install-deps.sh.
    .systemLibrary(name: "CAtomicOps", providers: [.apt(["libatomic-ops-dev"])]),
    .systemLibrary(name: "CBoostContext", providers: [.apt(["libboost-context-dev"])]),
    // The only C in Weft: atomics, fcontext, futex, thread-local slots, sanitizer hooks.
    .target(
      name: "CWeft",
      dependencies: ["CAtomicOps", "CBoostContext"],
      linkerSettings: [.linkedLibrary("boost_context"), .linkedLibrary("atomic_ops")]
    ),
    // The system calls of the I/O layer that Glibc does not import (epoll, eventfd, accept4).
    .target(name: "CWeftIO"),
    .target(
      name: "Weft",
      dependencies: ["CWeft", "CWeftIO"]
    ),
    .target(
      name: "WeftMetrics",
      dependencies: ["Weft", .product(name: "CoreMetrics", package: "swift-metrics")]
    ),
    // The executables' command lines (options, value checks, the settings they resolve to),
    // apart from the executables so that WeftCommandLineTests can parse them.
    .target(
      name: "WeftCommandLine",
      dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")]
    ),
    .executableTarget(name: "weft-bench", dependencies: ["Weft", "WeftNet", "WeftDistributed", "WeftCommandLine"]),
    .executableTarget(name: "weft-stress", dependencies: ["Weft", "WeftNet", "WeftCommandLine"]),
    .executableTarget(
      name: "weft-metrics-example",
      dependencies: ["Weft", "WeftMetrics", .product(name: "CoreMetrics", package: "swift-metrics")]
    ),
    .target(name: "WeftNet", dependencies: ["Weft", "CWeftIO"]),
    .target(name: "WeftHTTP", dependencies: ["Weft", "WeftNet", .product(name: "HTTPTypes", package: "swift-http-types")]),
    .executableTarget(name: "weft-echo", dependencies: ["Weft", "WeftNet", "WeftCommandLine"]),
    .executableTarget(name: "weft-chat", dependencies: ["Weft", "WeftNet", "WeftCommandLine"]),
    .executableTarget(
      name: "weft-http-get",
      dependencies: ["Weft", "WeftHTTP", .product(name: "HTTPTypes", package: "swift-http-types")]
    ),
    // Weft from `@main` async code (Docs/Semantics.md, "Using Weft from async Swift").
    .executableTarget(name: "weft-async-example", dependencies: ["Weft"]),
    .target(name: "WeftDistributed", dependencies: [
      "Weft",
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
    ]),
    // A distributed Monte-Carlo estimate of pi with pmap over local worker processes (README).
    .executableTarget(
      name: "weft-montecarlo",
      dependencies: ["Weft", "WeftDistributed", "WeftCommandLine",
                     .product(name: "ArgumentParser", package: "swift-argument-parser")]
    ),
    // The remote functions of WeftDistributedTests and the worker executable that serves them.
    .target(name: "WeftDistributedFixtures", dependencies: ["Weft", "WeftDistributed"], path: "Tests/Fixtures/WeftDistributedFixtures"),
    .executableTarget(
      name: "weft-distributed-fixture", dependencies: ["WeftDistributed", "WeftDistributedFixtures"],
      path: "Tests/Fixtures/weft-distributed-fixture"
    ),
    .testTarget(name: "WeftDistributedTests", dependencies: [
      "Weft", "WeftDistributed", "WeftDistributedFixtures",
      .product(name: "GRPCCore", package: "grpc-swift-2"),
      .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
    ]),
    .testTarget(name: "WeftTests", dependencies: ["Weft"]),
    .testTarget(name: "WeftNetTests", dependencies: [
      "Weft", "WeftNet", "WeftHTTP", "CWeftIO", .product(name: "HTTPTypes", package: "swift-http-types"),
    ]),
    .testTarget(
      name: "WeftMetricsTests",
      dependencies: ["Weft", "WeftMetrics", .product(name: "CoreMetrics", package: "swift-metrics")]
    ),
    .testTarget(name: "WeftCommandLineTests", dependencies: ["WeftCommandLine"]),
  ]
)
