import Testing

/// The stress tests of the scheduler's lock-free parts, one structure each, driven by plain
/// OS threads with no scheduler loop: DequeStressTests, StickyInboxStressTests,
/// RunNextStressTests, ParkerStressTests, IdleStressTests (one file each). They run one at a
/// time, because each drives more spinning threads than the machine has cores. Sizes scale
/// with WEFT_STRESS_SCALE (`scaled`, as in ChannelStressTests) and shrink under
/// ThreadSanitizer (`underTSan`).
@Suite(.serialized) enum LockFreeStressTests {}
