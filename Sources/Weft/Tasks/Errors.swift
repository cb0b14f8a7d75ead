/// Thrown by `wait()` and `fetch()` of a fiber whose body threw (Julia's
/// `TaskFailedException`). `fiber.error` (also `underlying`) is the error the body threw.
///
/// A failure deep in a pipeline arrives wrapped: a fiber that fetched a failed fiber fails
/// with that `TaskFailedError`, a `sync` collects its children's into a `CompositeError`, and
/// so on up. `rootCause` and `rootErrors` see through the wrapping (see `rootErrors` for the
/// exact rule), and `description` is one line that names this fiber and the root cause:
/// `fiber 7 failed: Boom (raised in fiber 3)`, or `fiber 7 failed: Boom` when fiber 7's own
/// body threw it; `; 2 more root errors` follows when a `CompositeError` inside held more.
/// (One line as long as the root error's own description is.) The full chain stays
/// reachable through `underlying`.
public struct TaskFailedError: Error, CustomStringConvertible, @unchecked Sendable {
  // SAFETY: the fiber's error is immutable once the fiber is done.
  /// The fiber that failed; its `error` is the error its body threw.
  public let fiber: AnyFiber
  /// The error the fiber's body threw (`fiber.error`), possibly a wrapper itself.
  public var underlying: any Error { fiber.error! }
  /// Wraps the failure of `fiber` (which must have failed).
  public init(fiber: AnyFiber) { self.fiber = fiber }

  /// The innermost error that is neither a `TaskFailedError` nor a `CompositeError`: the
  /// first of `rootErrors` (this failure's own `underlying` if it is an empty composite).
  public var rootCause: any Error { rootFailures.first?.error ?? underlying }

  /// The errors at the bottom of this failure, in order: `TaskFailedError`s are unwrapped to
  /// their fiber's error and `CompositeError`s to their elements, recursively, until an error
  /// that is neither. The same fiber's failure reached along several paths (a fiber fetched
  /// by two others that both failed with it) counts once, where it is first reached; distinct
  /// failures that threw equal errors all count.
  public var rootErrors: [any Error] { rootFailures.map(\.error) }

  /// `rootErrors`, each with the fiber that threw it.
  var rootFailures: [RootFailure] { RootFailure.collect(self) }

  public var description: String {
    let roots = rootFailures
    guard let first = roots.first else { return "fiber \(fiber.id) failed: \(underlying)" }
    let more = roots.count - 1
    return "fiber \(fiber.id) failed: \(first.line(from: fiber))"
      + (more > 0 ? "; \(more) more root error\(more == 1 ? "" : "s")" : "")
  }
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

  /// The first error's root cause (see `TaskFailedError.rootCause`): the first of
  /// `rootErrors`. An empty composite (which `sync` never throws) is its own root cause.
  public var rootCause: any Error { rootFailures.first?.error ?? self }

  /// The root errors of every element, in order, flattened: each `TaskFailedError` and
  /// `CompositeError` among them unwrapped as `TaskFailedError.rootErrors` says, with the
  /// same fiber's failure counted once however many elements reach it.
  public var rootErrors: [any Error] { rootFailures.map(\.error) }

  /// `rootErrors`, each with the fiber that threw it (nil for an element that is a plain
  /// error, such as the body's own error in a `sync`).
  var rootFailures: [RootFailure] { RootFailure.collect(self) }

  /// The number of root errors (and of elements, when they differ), then one line per root
  /// error: `fiber 3 failed: Boom` for one a fiber threw, the error itself for a plain one.
  public var description: String {
    let roots = rootFailures
    var head = "CompositeError: \(roots.count) error\(roots.count == 1 ? "" : "s")"
    if roots.count != errors.count { head += " (from \(errors.count) failure\(errors.count == 1 ? "" : "s"))" }
    return ([head + (roots.isEmpty ? "" : ":")] + roots.map { "  " + $0.line(from: nil) }).joined(separator: "\n")
  }
}

/// One root error of a wrapped failure, with the fiber whose body threw it: the innermost
/// `TaskFailedError` around it (nil when no `TaskFailedError` wraps it).
struct RootFailure {
  let fiber: AnyFiber?
  let error: any Error

  /// The root errors under `error`, in order; a fiber's failure is followed once.
  static func collect(_ error: any Error) -> [RootFailure] {
    var out: [RootFailure] = []
    var seen = Set<ObjectIdentifier>()
    func walk(_ e: any Error, in fiber: AnyFiber?) {
      switch e {
      case let t as TaskFailedError:
        guard seen.insert(ObjectIdentifier(t.fiber)).inserted else { return }
        walk(t.underlying, in: t.fiber)
      case let c as CompositeError:
        for x in c.errors { walk(x, in: fiber) }
      default:
        out.append(RootFailure(fiber: fiber, error: e))
      }
    }
    walk(error, in: nil)
    return out
  }

  /// The error, and where it was raised when that is not `outer` (the fiber a
  /// `TaskFailedError` line already names): `Boom (raised in fiber 3)`, or for a root at
  /// the top of a composite `fiber 3 failed: Boom`.
  func line(from outer: AnyFiber?) -> String {
    guard let fiber else { return "\(error)" }
    guard let outer else { return "fiber \(fiber.id) failed: \(error)" }
    return fiber === outer ? "\(error)" : "\(error) (raised in fiber \(fiber.id))"
  }
}

/// An argument outside what a call accepts (Julia's `ArgumentError`), e.g. a negative sleep.
public struct ArgumentError: Error, CustomStringConvertible, Sendable {
  /// What was wrong with the argument.
  public let message: String
  /// An error saying `message`.
  public init(_ message: String) { self.message = message }
  public var description: String { "ArgumentError: \(message)" }
}

/// An operation on an object in the wrong state (Julia's `InvalidStateException`).
public struct InvalidStateError: Error, CustomStringConvertible, Sendable {
  /// What was in the wrong state.
  public let message: String
  /// An error saying `message`.
  public init(_ message: String) { self.message = message }
  public var description: String { "InvalidStateError: \(message)" }
}
