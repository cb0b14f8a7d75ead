import Weft
import WeftNet

/// socket-echo: clients stream messages of random sizes (1 B … 16 KiB, deterministic
/// content) over loopback TCP to an echo server with a fiber per connection; each client
/// writes from one fiber and reads back from another. A byte ledger: every message comes
/// back exactly once, in order, byte for byte (a lost or doubled wake-up hangs a reader, which
/// the watchdog reports; a lost byte breaks a comparison). Half the clients end with
/// `shutdown(.write)` and expect end of stream; the others close after their last message.
let socketEcho = Scenario(
  name: "socket-echo",
  checks: "TCP echo over the reactor: every byte echoed exactly once, in order; half-close and end of stream"
) { round in
  var rng = round.random
  let clients = round.size(16, minimum: 2)
  let messages = rng.pick([10, 50, 200])
  let ledger = round.ledger("socket-echo.message", clients * messages)

  try round.onFiber {
    let listener = try TCPListener.listen(host: "127.0.0.1", port: 0)
    let server = spawn { () throws -> Void in
      while true {
        let c: TCPStream
        do { c = try listener.accept() } catch let e as IOError where e.kind == .closed { return }
        spawn { () throws -> Void in
          defer { c.close() }
          while true {
            let b = try c.readAvailable()
            if b.isEmpty { return }
            try c.write(b)
          }
        }
      }
    }
    var all: [Fiber<Void>] = []
    for k in 0..<clients {
      var r = round.random(for: k, 31)
      let sizes = (0..<messages).map { _ in r.int(1...16_384) }
      let halfClose = r.chance(0.5)
      all.append(spawn { () throws -> Void in
        let s = try TCPStream.connect(host: "127.0.0.1", port: listener.port, timeout: .seconds(60))
        defer { s.close() }
        let writer = spawn { () throws -> Void in
          for (i, n) in sizes.enumerated() {
            try s.write(message(k, i, n))
            round.ops.add()
          }
          if halfClose { try s.shutdown(.write) }
        }
        for (i, n) in sizes.enumerated() {
          let back = try s.read(exactly: n, timeout: .seconds(60))
          round.check(back == message(k, i, n), "socket-echo: client \(k) message \(i) (\(n) bytes) came back different")
          ledger.take(k * messages + i)
        }
        try writer.wait()
        if halfClose {
          let tail = try s.readAvailable(timeout: .seconds(60))
          round.check(tail.isEmpty, "socket-echo: client \(k) read \(tail.count) bytes after the echo of its last message")
        }
      })
    }
    for f in all { try f.wait() }
    listener.close()
    try server.wait()
  }
  round.verify(ledger)
}

/// Message `i` of client `k`: `n` bytes that differ from every other message's.
private func message(_ k: Int, _ i: Int, _ n: Int) -> [UInt8] {
  var out = [UInt8](repeating: 0, count: n)
  var x = UInt32(truncatingIfNeeded: k &* 7919 &+ i &* 104_729) | 1
  for j in 0..<n {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5
    out[j] = UInt8(truncatingIfNeeded: x)
  }
  return out
}
