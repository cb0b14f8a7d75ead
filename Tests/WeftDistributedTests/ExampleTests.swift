import Foundation
import Testing

extension DistributedTests {
  /// weft-montecarlo --workers 2 --samples 2000000 (README's example, smaller): it starts two
  /// worker processes of its own, exits 0, and prints an estimate within 0.01 of pi (the
  /// standard error at 2·10⁶ samples is about 0.0012, and the seeds are fixed).
  @Test func weftMontecarloEstimatesPi() throws {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    guard let url = [dir, dir.deletingLastPathComponent()].map({ $0.appendingPathComponent("weft-montecarlo") })
      .first(where: { FileManager.default.fileExists(atPath: $0.path) })
    else {
      Issue.record("weft-montecarlo is not built next to the test bundle (\(dir.path))")
      return
    }
    let watchdog = Watchdog(#function, seconds: 120)
    defer { watchdog.stop() }
    let p = Process()
    p.executableURL = url
    p.arguments = ["--workers", "2", "--samples", "2000000"]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    // Blocks this thread (never a Weft worker) until the example and its workers close it.
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    #expect(p.terminationStatus == 0, "weft-montecarlo exited \(p.terminationStatus):\n\(text)")
    let estimate = text.split(separator: "\n").first { $0.hasPrefix("estimate ") }.flatMap { Double($0.dropFirst(9)) }
    #expect(estimate.map { abs($0 - Double.pi) < 0.01 } == true, "no estimate within 0.01 of pi in:\n\(text)")
  }
}
