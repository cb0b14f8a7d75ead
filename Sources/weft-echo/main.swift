import Weft
import WeftCommandLine
import WeftNet
#if canImport(Glibc)
import Glibc
#endif

// weft-echo: a TCP echo server with a fiber per connection (issue 10's example and the
// server the echo benchmarks measure). Prints "weft-echo listening on HOST:PORT" once it
// accepts, then echoes every byte of every connection back until the peer closes.

let options = EchoArguments.parseOrExit(Array(CommandLine.arguments.dropFirst())) { $0 }
let scheduler = Scheduler(threads: options.workers ?? Scheduler.cpuCount)
let (host, port, maxConnections) = (options.host, options.port, options.maxConnections)

let server = scheduler.spawn { () throws -> Void in
  let listener = try TCPListener.listen(host: host, port: port)
  print("weft-echo listening on \(listener.localAddress.map(String.init(describing:)) ?? "?") with "
    + "\(scheduler.threadCount()) workers")
  fflush(nil)
  var served = 0
  while maxConnections.map({ served < $0 }) ?? true {
    let connection: TCPStream
    do {
      connection = try listener.accept()
    } catch let e as IOError where e.errno == EMFILE || e.errno == ENFILE {
      // Out of descriptors: the connection stays queued; try again once some are closed.
      try sleep(for: .milliseconds(10))
      continue
    }
    served += 1
    connection.noDelay = true
    spawn { () -> Void in
      defer { connection.close() }
      do {
        while true {
          let bytes = try connection.readAvailable()
          if bytes.isEmpty { return }
          try connection.write(bytes)
        }
      } catch {}  // a reset peer ends its connection only
    }
  }
  listener.close()
}

do {
  try server.wait()
} catch {
  var text = "weft-echo: \(error)\n"
  text.withUTF8 { b in _ = write(2, b.baseAddress, b.count) }
  exit(1)
}
