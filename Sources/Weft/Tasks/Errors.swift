/// Thrown by `wait()` and `fetch()` of a fiber whose body threw (Julia's
/// `TaskFailedException`). `fiber.error` is the original error.
public struct TaskFailedError: Error, CustomStringConvertible, @unchecked Sendable {
  // SAFETY: the fiber's error is immutable once the fiber is done.
  public let fiber: AnyFiber
  public var underlying: any Error { fiber.error! }
  public init(fiber: AnyFiber) { self.fiber = fiber }
  public var description: String { "TaskFailedError: \(fiber) failed: nested fiber error: \(underlying)" }
}

/// The errors of several fibers, collected by `sync` (Julia's `CompositeException`).
///
/// A value type and a `RandomAccessCollection` of its errors, in the order they were added:
/// build one up with `init()` and `append(_:)` (Julia's `push!(c, ex)`), then throw it if it
/// is not empty. `count`, `isEmpty`, `first` and `for e in composite` are Julia's `length`,
/// `isempty`, `first` and iteration.
public struct CompositeError: Error, CustomStringConvertible, RandomAccessCollection, @unchecked Sendable {
  // SAFETY: a value whose array is copied on write, so `append` never changes an array that
  // another copy (possibly on another thread) holds; the errors themselves are not mutated.
  /// The errors, in the order they were added (Julia's `c.exceptions`).
  public private(set) var errors: [any Error]

  /// A composite holding `errors`, in that order.
  public init(_ errors: [any Error]) { self.errors = errors }

  /// An empty composite, to be filled with `append(_:)` (Julia's `CompositeException()`).
  public init() { errors = [] }

  /// Adds `error` at the end (Julia's `push!(c::CompositeException, ex)`).
  public mutating func append(_ error: any Error) { errors.append(error) }

  public var startIndex: Int { errors.startIndex }
  public var endIndex: Int { errors.endIndex }
  public subscript(position: Int) -> any Error { errors[position] }

  public var description: String {
    "CompositeError (\(errors.count) error\(errors.count == 1 ? "" : "s")):\n"
      + errors.map { "  \($0)" }.joined(separator: "\n")
  }
}

/// An argument outside what a call accepts (Julia's `ArgumentError`), e.g. a negative sleep.
public struct ArgumentError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { "ArgumentError: \(message)" }
}

/// An operation on an object in the wrong state (Julia's `InvalidStateException`).
public struct InvalidStateError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public init(_ message: String) { self.message = message }
  public var description: String { "InvalidStateError: \(message)" }
}
