import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// The exit status of a command line that could not be used (both executables; Docs/Testing.md).
/// ArgumentParser's own is 64 (`EX_USAGE`); Weft's tools keep the 2 they always had.
public let usageExitStatus: Int32 = 2

/// What a parse failure does: print and exit, with its status.
public struct CommandLineExit: Equatable {
  /// 0 for `--help`, `usageExitStatus` for a bad command line.
  public let status: Int32
  /// The help screen (standard output) or the error and usage (standard error).
  public let text: String
  public var toStandardError: Bool { status != 0 }

  /// The exit for `error`, thrown by `C.parse(_:)` or by the caller's own later checks.
  public init<C: ParsableArguments>(_ error: any Error, of _: C.Type, columns: Int? = nil) {
    let code = C.exitCode(for: error)
    status = code == .success ? 0 : code == .validationFailure ? usageExitStatus : code.rawValue
    text = C.fullMessage(for: error, columns: columns)
  }

  public func exit() -> Never {
    if toStandardError {
      var t = text + "\n"
      t.withUTF8 { b in _ = write(2, b.baseAddress, b.count) }
    } else {
      print(text)
    }
    Glibc.exit(status)
  }
}

extension ParsableArguments {
  /// Parses `arguments`, then `then` (checks that need the program: names, environment);
  /// on `--help` prints the help and exits 0, on anything wrong prints what and the usage to
  /// standard error and exits with `usageExitStatus`.
  public static func parseOrExit<R>(_ arguments: [String], then: (Self) throws -> R) -> R {
    do {
      return try then(try parse(arguments))
    } catch {
      CommandLineExit(error, of: Self.self).exit()
    }
  }
}

/// The values of those of `names` that are set in this process's environment.
public func environmentValues(_ names: [String]) -> [String: String] {
  var values: [String: String] = [:]
  for n in names { if let v = getenv(n) { values[n] = String(cString: v) } }
  return values
}
