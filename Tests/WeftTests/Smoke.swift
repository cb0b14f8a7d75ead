import Testing
@testable import Weft
@Test func smoke() throws { #expect(try spawn { 1 + 1 }.fetch() == 2) }
