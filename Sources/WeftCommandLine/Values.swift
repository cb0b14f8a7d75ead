import ArgumentParser

// The value checks of both command lines. Each parser says what is wrong with the text it
// was given; ArgumentParser prefixes it with the value and the option:
//   The value 'abc' is invalid for '--duration <seconds>': not a number of seconds

/// Why a value was refused, as ArgumentParser prints it after the value and the option.
public struct ValueError: Error, CustomStringConvertible, Equatable {
  public let description: String
  public init(_ description: String) { self.description = description }
}

/// Parsers for option values, each usable as an `@Option(transform:)`.
public enum Value {
  /// Seconds as a decimal number: `2`, `0.5`; 0 itself only when `allowZero`.
  public static func seconds(_ text: String, allowZero: Bool) throws -> Double {
    guard let s = Double(text) else { throw ValueError("not a number of seconds") }
    guard s.isFinite else { throw ValueError("not a finite number of seconds") }
    if allowZero {
      guard s >= 0 else { throw ValueError("a negative number of seconds (0 or more)") }
    } else {
      guard s > 0 else { throw ValueError("must be more than 0 seconds") }
    }
    return s
  }

  /// A positive, finite decimal number: a scale factor.
  public static func positiveNumber(_ text: String) throws -> Double {
    guard let k = Double(text) else { throw ValueError("not a number") }
    guard k.isFinite else { throw ValueError("not a finite number") }
    guard k > 0 else { throw ValueError("must be more than 0") }
    return k
  }

  /// A whole number at least `minimum` (a count of threads, a round number).
  public static func count(_ text: String, minimum: Int) throws -> Int {
    guard let n = Int(text) else { throw ValueError("not a whole number") }
    guard n >= minimum else { throw ValueError("must be \(minimum) or more") }
    return n
  }

  /// An unsigned 64-bit integer, decimal or hexadecimal with `0x`.
  public static func seed(_ text: String) throws -> UInt64 {
    if text.hasPrefix("0x") || text.hasPrefix("0X") {
      guard let s = UInt64(text.dropFirst(2), radix: 16) else {
        throw ValueError("not a hexadecimal unsigned 64-bit integer")
      }
      return s
    }
    guard let s = UInt64(text) else {
      throw ValueError("not an unsigned 64-bit integer (decimal, or hexadecimal with 0x)")
    }
    return s
  }
}

/// A help section listing `entries` (name, then what it is), names padded to one column and
/// each description wrapped under itself within `columns` (ArgumentParser wraps help text at
/// 80 columns without a terminal; lines that fit are left as they are).
public func catalog(_ title: String, _ entries: [(name: String, about: String)], columns: Int = 79) -> String {
  let width = entries.map(\.name.count).max() ?? 0
  let indent = String(repeating: " ", count: width + 4)
  return ([title + ":"] + entries.map { e in
    let lines = wrap(e.about, to: max(10, columns - indent.count))
    let head = "  " + e.name + String(repeating: " ", count: width - e.name.count)
    guard let first = lines.first else { return head }
    return ([head + "  " + first] + lines.dropFirst().map { indent + $0 }).joined(separator: "\n")
  }).joined(separator: "\n")
}

/// `text` split into lines of at most `columns` characters at spaces (a longer word stands
/// alone on its line).
func wrap(_ text: String, to columns: Int) -> [String] {
  var lines: [String] = []
  var line = ""
  for word in text.split(separator: " ") {
    if !line.isEmpty && line.count + 1 + word.count > columns {
      lines.append(line)
      line = ""
    }
    line += (line.isEmpty ? "" : " ") + word
  }
  if !line.isEmpty { lines.append(line) }
  return lines
}
