// swift-tools-version: 6.2
import PackageDescription

let package = Package(
  name: "Weft",
  products: [
    .library(name: "Weft", targets: ["Weft"]),
    // Scheduler.metrics exported to apple/swift-metrics; the core depends on nothing.
    .library(name: "WeftMetrics", targets: ["WeftMetrics"]),
    .executable(name: "weft-bench", targets: ["weft-bench"]),
    .executable(name: "weft-stress", targets: ["weft-stress"]),
    .executable(name: "weft-metrics-example", targets: ["weft-metrics-example"]),
    .executable(name: "weft-async-example", targets: ["weft-async-example"]),
  ],
  // The Weft library keeps no dependency: swift-metrics serves WeftMetrics only, and
  // swift-argument-parser the two executables' command lines.
  dependencies: [
    .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
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
    .target(
      name: "Weft",
      dependencies: ["CWeft"]
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
    .executableTarget(name: "weft-bench", dependencies: ["Weft", "WeftCommandLine"]),
    .executableTarget(name: "weft-stress", dependencies: ["Weft", "WeftCommandLine"]),
    .executableTarget(
      name: "weft-metrics-example",
      dependencies: ["Weft", "WeftMetrics", .product(name: "CoreMetrics", package: "swift-metrics")]
    ),
    // Weft from `@main` async code (Docs/Semantics.md, "Using Weft from async Swift").
    .executableTarget(name: "weft-async-example", dependencies: ["Weft"]),
    .testTarget(name: "WeftTests", dependencies: ["Weft"]),
    .testTarget(
      name: "WeftMetricsTests",
      dependencies: ["Weft", "WeftMetrics", .product(name: "CoreMetrics", package: "swift-metrics")]
    ),
    .testTarget(name: "WeftCommandLineTests", dependencies: ["WeftCommandLine"]),
  ]
)
