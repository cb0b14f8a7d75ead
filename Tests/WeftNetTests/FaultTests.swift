#if canImport(Glibc)
import Glibc
#endif
import Testing
import Weft
import WeftNet

@Suite struct FaultTests {
  /// Descriptor exhaustion (in a child process, which lowers its own RLIMIT_NOFILE): accept
  /// and connect fail with a clear EMFILE error, and the listener serves again once
  /// descriptors are free.
  @Test func descriptorExhaustionIsAnErrorAndRecovers() async {
    await #expect(processExitsWith: .success) {
      let s = Scheduler(threads: 2)
      let ok = try? s.spawn { () throws -> Bool in
        let listener = try TCPListener.listen(port: 0)
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = rlim_t(openDescriptorCountForTests() + 40)
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        var held: [TCPStream] = []
        var sawEMFILE = false
        // Fill the table: client ends and accepted ends, until something says EMFILE.
        while !sawEMFILE && held.count < 1000 {
          do {
            let c = try TCPStream.connect(host: "127.0.0.1", port: listener.port)
            held.append(c)
            held.append(try listener.accept(timeout: .seconds(10)))
          } catch let e as IOError {
            guard e.errno == EMFILE else { print("unexpected \(e)"); return false }
            #expect(e.description.contains("EMFILE"))
            sawEMFILE = true
          }
        }
        guard sawEMFILE else { return false }
        for h in held { h.close() }
        held.removeAll()
        // Free again: the connection left queued by the failed accept (if any) comes first,
        // then a new one, which carries its byte.
        let c = try TCPStream.connect(host: "127.0.0.1", port: listener.port)
        try c.write("x")
        try c.shutdown(.write)
        for _ in 0..<3 {
          let a = try listener.accept(timeout: .seconds(10))
          if (try? a.readAvailable()) == Array("x".utf8) { return true }
        }
        return false
      }.fetch()
      s.shutdown()
      exit(ok == true ? 0 : 1)
    }
  }
}

/// Open descriptors of this process (entries of /proc/self/fd).
func openDescriptorCountForTests() -> Int {
  var n = 0
  if let d = opendir("/proc/self/fd") {
    while let e = readdir(d) { if e.pointee.d_name.0 != 46 { n += 1 } }  // skip "." and ".."
    closedir(d)
  }
  return n
}
