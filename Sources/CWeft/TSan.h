// WEFT_TSAN: defined when this C is compiled under ThreadSanitizer (clang's feature test or
// GCC's macro). Private to CWeft's .c files.
#ifndef CWEFT_TSAN_H
#define CWEFT_TSAN_H
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define WEFT_TSAN 1
#endif
#endif
