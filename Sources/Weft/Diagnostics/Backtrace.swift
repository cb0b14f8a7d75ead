import CWeft
#if canImport(Glibc)
import Glibc
#endif

/// One frame of a parked fiber's backtrace (`SchedulerSnapshot.FiberInfo.backtrace`).
///
/// Symbols come from each image's ELF symbol table (`.symtab`, read from its file once), so
/// internal and private functions of an unstripped executable are named too; a stripped
/// image falls back to its exported symbols (`.dynsym`, `dladdr`), and an address outside
/// any known function keeps just its image and address.
public struct BacktraceFrame: Sendable, Hashable, CustomStringConvertible {
  /// The return address (the instruction after the call).
  public let address: UInt
  /// The mangled symbol that contains `address`, if the image exports one.
  public let symbol: String?
  /// `symbol` demangled by the Swift runtime (the symbol itself for C symbols).
  public let name: String?
  /// Bytes from the symbol's start to `address`.
  public let offset: UInt
  /// The path of the executable or shared library the address lies in.
  public let image: String?
  /// True for Weft's own frames (module `Weft`, its C shim, Boost.Context).
  public let isWeft: Bool

  public var description: String {
    let where_ = name.map { "\($0) + \(offset)" } ?? "0x" + String(address, radix: 16)
    let file = image.map { " in " + ($0.split(separator: "/").last.map(String.init) ?? $0) } ?? ""
    return where_ + file
  }
}

/// Turns return addresses into `BacktraceFrame`s (dladdr, then `swift_demangle`), with a
/// cache: a dump of many fibers parked in the same code looks each address up once.
struct Symbolicator {
  private var cache: [UInt: BacktraceFrame] = [:]

  mutating func frame(_ address: UInt) -> BacktraceFrame {
    if let f = cache[address] { return f }
    let f = Symbolicator.lookUp(address)
    cache[address] = f
    return f
  }

  /// The frames of `addresses`, innermost first.
  mutating func frames(_ addresses: [UInt]) -> [BacktraceFrame] { addresses.map { frame($0) } }

  private static func lookUp(_ address: UInt) -> BacktraceFrame {
    var info = weft_symbol()
    // A return address may be one past the call that ends a function: look up the byte
    // before it, as every symbolicator does.
    guard address > 0, weft_symbolize(address - 1, &info) else {
      return BacktraceFrame(address: address, symbol: nil, name: nil, offset: 0, image: nil, isWeft: false)
    }
    let image = info.image.map { String(cString: $0) }
    let symbol = info.name.map { String(cString: $0) }
    let name = symbol.map { demangle($0) ?? $0 }
    let offset = symbol == nil ? 0 : address &- info.start
    return BacktraceFrame(address: address, symbol: symbol, name: name, offset: offset, image: image,
                          isWeft: isWeftFrame(symbol: symbol, image: image))
  }

  /// The Swift runtime's demangling of `symbol`, or nil when it is not a Swift symbol.
  static func demangle(_ symbol: String) -> String? {
    symbol.withCString { p -> String? in
      guard let out = swift_demangle(p, strlen(p), nil, nil, 0) else { return nil }
      defer { free(out) }
      return String(cString: out)
    }
  }

  /// Weft's own frames: module `Weft` (`$s4Weft…`, including its closures, thunks and
  /// specialisations), CWeft's `weft_…` functions, and Boost.Context.
  static func isWeftFrame(symbol: String?, image: String?) -> Bool {
    if let s = symbol, s.hasPrefix("$s4Weft") || s.hasPrefix("weft_") || s.hasSuffix("_fcontext") { return true }
    if let i = image, i.contains("libboost_context") { return true }
    return false
  }
}

extension BacktraceFrame {
  /// Swift standard library frames (`$ss…`): generic helpers such as
  /// `withUnsafeMutablePointer` that Weft's own code calls through.
  var isSwiftStandardLibrary: Bool { symbol?.hasPrefix("$ss") == true }
}

extension Array where Element == BacktraceFrame {
  /// The user's frames first: the trace without the Weft frames it starts with (park,
  /// switch, the blocking primitive, and standard-library helpers between them) and without
  /// the Weft frames it ends with (fiber entry). Weft frames between user frames (a `fetch`
  /// that ran a child inline) stay. Empty when no frame is the user's.
  public var userFrames: ArraySlice<BacktraceFrame> {
    let isOwn = { (f: BacktraceFrame) in !f.isWeft && !f.isSwiftStandardLibrary }
    guard let first = firstIndex(where: isOwn), let last = lastIndex(where: isOwn) else { return [] }
    return self[first...last]
  }
}
