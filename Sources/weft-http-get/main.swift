import HTTPTypes
import Weft
import WeftHTTP
#if canImport(Glibc)
import Glibc
#endif

// weft-http-get URL...: fetches each http:// URL with WeftHTTP's client (one kept-alive
// connection per host) and prints the status line, the header fields and the body. Exit
// status 0 when every response came (whatever its status), 1 on an error, 2 without URLs.

let urls = Array(CommandLine.arguments.dropFirst())
if urls.isEmpty || urls.contains("--help") {
  print("usage: weft-http-get URL...   (http:// only; prints status, fields and body)")
  exit(urls.isEmpty ? 2 : 0)
}

let fetched = spawn { () throws -> String in
  let client = HTTPClient(timeout: .seconds(30))
  defer { client.close() }
  var out = ""
  for url in urls {
    let r = try client.get(url)
    out += "\(r.status.code) \(r.status.reasonPhrase)\n"
    for f in r.headerFields { out += "\(f.name): \(f.value)\n" }
    out += "\n" + r.text + "\n"
  }
  return out
}

do {
  print(try fetched.fetch(), terminator: "")
} catch {
  var text = "weft-http-get: \(error)\n"
  text.withUTF8 { b in _ = write(2, b.baseAddress, b.count) }
  exit(1)
}
