// swift-tools-version: 6.2
import PackageDescription

let package = Package(
  name: "Weft",
  products: [
    .library(name: "Weft", targets: ["Weft"]),
    .executable(name: "weft-bench", targets: ["weft-bench"]),
    .executable(name: "weft-stress", targets: ["weft-stress"]),
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
    .executableTarget(name: "weft-bench", dependencies: ["Weft"]),
    .executableTarget(name: "weft-stress", dependencies: ["Weft"]),
    .testTarget(name: "WeftTests", dependencies: ["Weft"]),
  ]
)
