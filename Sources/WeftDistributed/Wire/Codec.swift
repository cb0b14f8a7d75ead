// The Codable serializer of every gRPC message Weft sends: JSON, so that no code generator
// runs at build time and a message can be read in a packet capture.
//
// User values (arguments, results, channel items) travel as `Data` inside the envelopes,
// encoded by `Payload` with the destination process in the encoder's `userInfo`: a `Future`
// or `RemoteChannel` among them registers that process as a client of its owner while it is
// encoded (Refs.swift, rule R1).

import Foundation
import GRPCCore

/// Serializes one message type as JSON (gRPC's `MessageSerializer`).
struct JSONSerializer<Message: Encodable>: MessageSerializer {
  func serialize<Bytes: GRPCContiguousBytes>(_ message: Message) throws -> Bytes {
    Bytes(try JSONEncoder().encode(message))
  }
}

/// Sends bytes already serialized (a client encodes its request itself, to refuse one over
/// the size limit with a clear error before gRPC sees it: gRPC would only close the stream).
struct EncodedSerializer: MessageSerializer {
  func serialize<Bytes: GRPCContiguousBytes>(_ message: Data) throws -> Bytes { Bytes(message) }
}

/// Deserializes one message type from JSON; bytes that are not such a message are rejected
/// with `invalidArgument` ("malformed message"), and the connection stays usable.
struct JSONDeserializer<Message: Decodable>: MessageDeserializer {
  func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> Message {
    let data = bytes.withUnsafeBytes { Data($0) }
    do {
      return try JSONDecoder().decode(Message.self, from: data)
    } catch {
      throw RPCError(code: .invalidArgument, message: "malformed message (\(data.count) bytes): \(error)")
    }
  }
}

/// The coding of user values: arguments, results and channel items.
enum Payload {
  /// The `userInfo` key under which the encoder holds the process id the bytes go to.
  static let destinationKey = CodingUserInfoKey(rawValue: "weft.destination")!

  /// `value` as bytes bound for process `destination`.
  static func encode<T: Encodable>(_ value: T, to destination: Int) throws -> Data {
    let encoder = JSONEncoder()
    encoder.userInfo[destinationKey] = destination
    do {
      return try encoder.encode(value)
    } catch let e as DistributedError {
      throw e
    } catch {
      throw DistributedError.unencodable("\(T.self): \(error)")
    }
  }

  /// A value of type `T` from `data`; throws `DistributedError.undecodable` naming the type.
  static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
    do {
      return try JSONDecoder().decode(T.self, from: data)
    } catch {
      throw DistributedError.undecodable("\(T.self): \(error)")
    }
  }

  /// The destination process of the encoder at hand (nil outside `Payload.encode`).
  static func destination(of encoder: any Encoder) -> Int? {
    encoder.userInfo[destinationKey] as? Int
  }
}
