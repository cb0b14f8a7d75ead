/// A growable FIFO ring of `Element`s: a channel's buffer.
///
/// Not thread-safe: its owner (`ChannelCore`) guards it with the channel's lock. Storage is a
/// power-of-two block that doubles when full, up to `limit` slots' worth; it is never shrunk
/// while the channel lives (an unbounded channel keeps the memory of its largest backlog).
/// The owner must call `deallocate()` exactly once.
@usableFromInline
struct RingBuffer<Element> {
  // SAFETY: `storage` holds `mask + 1` slots (or is nil when no item was ever stored); the
  // `count` slots starting at `head` (modulo the size) are initialised, the others are not.
  @usableFromInline var storage: UnsafeMutablePointer<Element>?
  @usableFromInline var mask = -1
  @usableFromInline var head = 0
  @usableFromInline var count = 0

  /// The size to start with, in slots (grown by doubling, never past what `limit` needs).
  @usableFromInline static var initialSize: Int { 16 }

  @inlinable init() {}

  @inlinable var isEmpty: Bool { count == 0 }

  /// The oldest item, if any.
  @inlinable var first: Element? { count == 0 ? nil : storage.unsafelyUnwrapped[head] }

  /// Appends `e`; grows the storage when full. `limit` bounds the growth (the channel's
  /// capacity), so a bounded channel never holds more than the next power of two of slots.
  @inlinable @inline(__always)
  mutating func append(_ e: Element, limit: Int) {
    if count == mask &+ 1 { grow(limit: limit) }
    (storage.unsafelyUnwrapped + ((head &+ count) & mask)).initialize(to: e)
    count &+= 1
  }

  /// Removes and returns the oldest item. Precondition: not empty.
  @inlinable @inline(__always)
  mutating func removeFirst() -> Element {
    let e = (storage.unsafelyUnwrapped + head).move()
    head = (head &+ 1) & mask
    count &-= 1
    return e
  }

  @usableFromInline @inline(never)
  mutating func grow(limit: Int) {
    let oldSize = mask &+ 1
    // The owner appends only while count < limit, so doubling a size below `limit` never
    // passes `limit` rounded up to a power of two.
    var newSize = oldSize &* 2
    if oldSize == 0 {
      newSize = 1
      while newSize < Swift.min(limit, RingBuffer.initialSize) { newSize &*= 2 }
    }
    let fresh = UnsafeMutablePointer<Element>.allocate(capacity: newSize)
    if let old = storage {
      // Move the `count` live items to the front of the new block, oldest first.
      let firstRun = Swift.min(count, oldSize - head)
      (fresh).moveInitialize(from: old + head, count: firstRun)
      (fresh + firstRun).moveInitialize(from: old, count: count - firstRun)
      old.deallocate()
    }
    storage = fresh
    mask = newSize - 1
    head = 0
  }

  /// Destroys the remaining items and frees the storage.
  @inlinable
  mutating func deallocate() {
    while count > 0 { _ = removeFirst() }
    storage?.deallocate()
    storage = nil
    mask = -1
  }
}
