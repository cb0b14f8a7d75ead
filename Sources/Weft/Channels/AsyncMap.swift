// Julia's `asyncmap` and `asyncmap!`: map a function over collections with several fibers.
// The machinery is in AsyncMapEngine.swift; these are the public forms:
//
//                       one collection       two collections (element-wise)
//   element-wise f      asyncMap(c) { }      asyncMap(a, b) { x, y in }
//   batch f             batchSize: n         batchSize: n, f takes [(x, y)]
//   ntasks              Int (0 = up to 100), or a closure re-read before each element
//   results             returned ([R]), or written `into:` a mutable collection
//   any Sequence        one sequence, element-wise or batch (a Channel included): iterated once,
//                       as the fibers need elements, until it ends

/// Julia's `asyncmap(f, c; ntasks, batch_size)`: applies `f` to every element of `c` using up
/// to `ntasks` concurrent fibers, and returns the results in input order.
///
/// Contract:
/// - **Concurrency**: the first `ntasks` elements each start a new migratable fiber (so with
///   `ntasks` ≥ the element count every element runs in its own fiber); later elements are
///   queued (a bounded channel) for whichever of those fibers is free.
/// - **Memory ordering**: everything `f` did for an element happens-before `asyncMap` returns.
/// - **What blocks**: the calling fiber (or thread), while it hands out elements and until
///   every fiber has finished; never a worker thread.
/// - **Errors**: the first error thrown by `f` (in time) stops the hand-out; the fibers finish
///   the elements they hold, then `asyncMap` throws that error. Bad arguments throw
///   `ArgumentError` before anything runs.
/// - **Julia**: `asyncmap`; `ntasks = 0` (default) means up to 100 fibers, as in Julia. Julia
///   starts its tasks up front and feeds them through an unbuffered channel; Weft starts them
///   as elements arrive (same maximum) and queues up to 1024 elements ahead.
///
/// - Parameters:
///   - c: the input; its elements cross to other fibers, so they are `Sendable`.
///   - ntasks: the most fibers to use; 0 for the default (up to 100). Must not be negative.
///   - f: the mapping function; it runs on worker fibers, so it is `@Sendable`.
/// - Throws: the first error `f` threw; `ArgumentError` for a negative `ntasks`.
@inlinable
public func asyncMap<C: Collection, R: Sendable>(
  _ c: C, ntasks: Int = 0, _ f: @escaping @Sendable (C.Element) throws -> R
) throws -> [R] where C.Element: Sendable {
  let n = try asyncMapLimit(ntasks, batchSize: nil)
  return try asyncMapElements(c, count: c.count, limit: { n }, f)
}

/// `asyncMap` with a task limit that is re-read before each element (Julia's `ntasks` given
/// as a zero-argument function): when it returns more than the number of fibers started so
/// far, a new fiber is started for that element. At least one fiber always runs.
@inlinable
public func asyncMap<C: Collection, R: Sendable>(
  _ c: C, ntasks: () -> Int, _ f: @escaping @Sendable (C.Element) throws -> R
) throws -> [R] where C.Element: Sendable {
  try asyncMapElements(c, count: c.count, limit: ntasks, f)
}

/// Batch mode (Julia's `batch_size`): `f` receives arrays of at most `batchSize` consecutive
/// elements and must return one result per element, in the same order; the results are
/// flattened back into input order. A job is a batch: the first `ntasks` batches each start a
/// fiber.
/// - Throws: the first error `f` threw; `ArgumentError` for `batchSize` < 1, a negative
///   `ntasks`, or a batch result of the wrong length.
@inlinable
public func asyncMap<C: Collection, R: Sendable>(
  _ c: C, ntasks: Int = 0, batchSize: Int, _ f: @escaping @Sendable ([C.Element]) throws -> [R]
) throws -> [R] where C.Element: Sendable {
  let n = try asyncMapLimit(ntasks, batchSize: batchSize)
  return try asyncMapBatches(c, count: c.count, batchSize: batchSize, limit: { n }, f)
}

/// Batch mode with a task limit re-read before each batch.
@inlinable
public func asyncMap<C: Collection, R: Sendable>(
  _ c: C, ntasks: () -> Int, batchSize: Int, _ f: @escaping @Sendable ([C.Element]) throws -> [R]
) throws -> [R] where C.Element: Sendable {
  _ = try asyncMapLimit(0, batchSize: batchSize)
  return try asyncMapBatches(c, count: c.count, batchSize: batchSize, limit: ntasks, f)
}

// MARK: One sequence (a Channel included)

/// Julia's `asyncmap(f, itr)` over any iterable, a `Channel` included: applies `f` to every
/// element of `s` using up to `ntasks` concurrent fibers, and returns the results in input
/// order. A `Collection` takes the overload above; this one serves sequences whose length is
/// not known up front (`stride`, `lazy.map`, a channel).
///
/// Contract (as the collection form, plus):
/// - **Iteration**: `s` is iterated once, on the calling fiber, an element at a time as the
///   fibers need them (up to 1024 queued ahead); waiting on a channel parks the calling fiber,
///   never its worker. The mapping stops when the sequence ends, or when `f` fails (checked
///   before each element is taken).
/// - **Channels**: a channel ends when it is closed and drained, as `for x in ch`. If it was
///   closed with an error (`close(error:)`, a failed bound fiber), that error is thrown once
///   every element has been mapped and every fiber has finished (the results are lost), as
///   `Channel.collect()` does; an error from `f` comes first. Julia's iteration rethrows the
///   close error only if a `take!` was under way; Weft's answer does not depend on timing.
/// - **Julia**: `asyncmap` over an iterator or a `Channel`.
/// - Throws: the first error `f` threw; a channel's close error; `ArgumentError` for a
///   negative `ntasks`.
@inlinable
public func asyncMap<S: Sequence, R: Sendable>(
  _ s: S, ntasks: Int = 0, _ f: @escaping @Sendable (S.Element) throws -> R
) throws -> [R] where S.Element: Sendable {
  let n = try asyncMapLimit(ntasks, batchSize: nil)
  let results = try asyncMapElements(s, slots: AsyncMapGrowingSlots<R>(), limit: { n }, f)
  try throwInputEndError(s)
  return results
}

/// `asyncMap` over a sequence with a task limit re-read before each element.
@inlinable
public func asyncMap<S: Sequence, R: Sendable>(
  _ s: S, ntasks: () -> Int, _ f: @escaping @Sendable (S.Element) throws -> R
) throws -> [R] where S.Element: Sendable {
  let results = try asyncMapElements(s, slots: AsyncMapGrowingSlots<R>(), limit: ntasks, f)
  try throwInputEndError(s)
  return results
}

/// Batch mode over a sequence: `f` receives arrays of at most `batchSize` consecutive
/// elements (the last one shorter when the sequence ends) and returns one result per element.
/// - Throws: as `asyncMap(_:ntasks:_:)` over a sequence; `ArgumentError` for `batchSize` < 1
///   or a batch result of the wrong length.
@inlinable
public func asyncMap<S: Sequence, R: Sendable>(
  _ s: S, ntasks: Int = 0, batchSize: Int, _ f: @escaping @Sendable ([S.Element]) throws -> [R]
) throws -> [R] where S.Element: Sendable {
  let n = try asyncMapLimit(ntasks, batchSize: batchSize)
  let results = try asyncMapBatches(s, slots: AsyncMapGrowingSlots<R>(), batchSize: batchSize, limit: { n }, f)
  try throwInputEndError(s)
  return results
}

/// Batch mode over a sequence with a task limit re-read before each batch.
@inlinable
public func asyncMap<S: Sequence, R: Sendable>(
  _ s: S, ntasks: () -> Int, batchSize: Int, _ f: @escaping @Sendable ([S.Element]) throws -> [R]
) throws -> [R] where S.Element: Sendable {
  _ = try asyncMapLimit(0, batchSize: batchSize)
  let results = try asyncMapBatches(s, slots: AsyncMapGrowingSlots<R>(), batchSize: batchSize, limit: ntasks, f)
  try throwInputEndError(s)
  return results
}

// MARK: Two collections, element-wise

/// Julia's `asyncmap(f, a, b)`: applies `f` to corresponding elements of two collections of
/// equal length; otherwise as `asyncMap(_:ntasks:_:)`.
/// - Throws: `ArgumentError` if the lengths differ (before anything runs); the first error
///   `f` threw.
@inlinable
public func asyncMap<A: Collection, B: Collection, R: Sendable>(
  _ a: A, _ b: B, ntasks: Int = 0, _ f: @escaping @Sendable (A.Element, B.Element) throws -> R
) throws -> [R] where A.Element: Sendable, B.Element: Sendable {
  try checkEqualLengths(a.count, b.count)
  let n = try asyncMapLimit(ntasks, batchSize: nil)
  return try asyncMapElements(zip(a, b), count: a.count, limit: { n }) { try f($0.0, $0.1) }
}

/// Two collections with a task limit re-read before each element.
@inlinable
public func asyncMap<A: Collection, B: Collection, R: Sendable>(
  _ a: A, _ b: B, ntasks: () -> Int, _ f: @escaping @Sendable (A.Element, B.Element) throws -> R
) throws -> [R] where A.Element: Sendable, B.Element: Sendable {
  try checkEqualLengths(a.count, b.count)
  return try asyncMapElements(zip(a, b), count: a.count, limit: ntasks) { try f($0.0, $0.1) }
}

/// Two collections in batch mode: `f` receives arrays of argument pairs (Julia's vector of
/// argument tuples) and returns one result per pair.
@inlinable
public func asyncMap<A: Collection, B: Collection, R: Sendable>(
  _ a: A, _ b: B, ntasks: Int = 0, batchSize: Int,
  _ f: @escaping @Sendable ([(A.Element, B.Element)]) throws -> [R]
) throws -> [R] where A.Element: Sendable, B.Element: Sendable {
  try checkEqualLengths(a.count, b.count)
  let n = try asyncMapLimit(ntasks, batchSize: batchSize)
  return try asyncMapBatches(zip(a, b).lazy.map { ($0.0, $0.1) }, count: a.count, batchSize: batchSize,
                             limit: { n }, f)
}

/// Two collections in batch mode with a task limit re-read before each batch.
@inlinable
public func asyncMap<A: Collection, B: Collection, R: Sendable>(
  _ a: A, _ b: B, ntasks: () -> Int, batchSize: Int,
  _ f: @escaping @Sendable ([(A.Element, B.Element)]) throws -> [R]
) throws -> [R] where A.Element: Sendable, B.Element: Sendable {
  try checkEqualLengths(a.count, b.count)
  _ = try asyncMapLimit(0, batchSize: batchSize)
  return try asyncMapBatches(zip(a, b).lazy.map { ($0.0, $0.1) }, count: a.count, batchSize: batchSize,
                             limit: ntasks, f)
}

// MARK: asyncMap(into:) — Julia's asyncmap!

/// Julia's `asyncmap!(f, results, c)`: like `asyncMap(_:ntasks:_:)`, but writes the results
/// into the first `c.count` positions of `results` (in input order) instead of returning
/// them. `results` is written only when every element succeeded.
/// - Throws: `ArgumentError` if `results` is shorter than `c`; the first error `f` threw.
@inlinable
public func asyncMap<Results: MutableCollection, C: Collection>(
  into results: inout Results, _ c: C, ntasks: Int = 0,
  _ f: @escaping @Sendable (C.Element) throws -> Results.Element
) throws where C.Element: Sendable, Results.Element: Sendable {
  try checkResultsRoom(results.count, c.count)
  copyAsyncMapResults(try asyncMap(c, ntasks: ntasks, f), into: &results)
}

/// `asyncMap(into:)` with a task limit re-read before each element.
@inlinable
public func asyncMap<Results: MutableCollection, C: Collection>(
  into results: inout Results, _ c: C, ntasks: () -> Int,
  _ f: @escaping @Sendable (C.Element) throws -> Results.Element
) throws where C.Element: Sendable, Results.Element: Sendable {
  try checkResultsRoom(results.count, c.count)
  copyAsyncMapResults(try asyncMap(c, ntasks: ntasks, f), into: &results)
}

/// `asyncMap(into:)` in batch mode.
@inlinable
public func asyncMap<Results: MutableCollection, C: Collection>(
  into results: inout Results, _ c: C, ntasks: Int = 0, batchSize: Int,
  _ f: @escaping @Sendable ([C.Element]) throws -> [Results.Element]
) throws where C.Element: Sendable, Results.Element: Sendable {
  try checkResultsRoom(results.count, c.count)
  copyAsyncMapResults(try asyncMap(c, ntasks: ntasks, batchSize: batchSize, f), into: &results)
}

/// `asyncMap(into:)` over two collections, element-wise.
@inlinable
public func asyncMap<Results: MutableCollection, A: Collection, B: Collection>(
  into results: inout Results, _ a: A, _ b: B, ntasks: Int = 0,
  _ f: @escaping @Sendable (A.Element, B.Element) throws -> Results.Element
) throws where A.Element: Sendable, B.Element: Sendable, Results.Element: Sendable {
  try checkEqualLengths(a.count, b.count)
  try checkResultsRoom(results.count, a.count)
  copyAsyncMapResults(try asyncMap(a, b, ntasks: ntasks, f), into: &results)
}
