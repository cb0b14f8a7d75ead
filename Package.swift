// swift-tools-version: 6.2
import PackageDescription

let package = Package(
  name: "Weft",
  products: [
    .library(name: "Weft", targets: ["Weft"]),
    .executable(name: "weft-bench", targets: ["weft-bench"]),
    .executable(name: "weft-stress", targets: ["weft-stress"]),
  ],
  dependencies: [
    // Command lines of the two executables only; the Weft library keeps no dependency.
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
    // The executables' command lines (options, value checks, the settings they resolve to),
    // apart from the executables so that WeftCommandLineTests can parse them.
    .target(
      name: "WeftCommandLine",
      dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")]
    ),
    .executableTarget(name: "weft-bench", dependencies: ["Weft", "WeftCommandLine"]),
    .executableTarget(name: "weft-stress", dependencies: ["Weft", "WeftCommandLine"]),
    .testTarget(name: "WeftTests", dependencies: ["Weft"]),
    .testTarget(name: "WeftCommandLineTests", dependencies: ["WeftCommandLine"]),
  ]
)
