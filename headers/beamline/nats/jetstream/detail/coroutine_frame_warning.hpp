#pragma once
// Include last, from .cpp files only. GCC 12 at -O2 flags Asio's coroutine frames with
// -Wmismatched-new-delete when it inlines awaitable_frame_base's operator new (aligned_new) but
// not its sized operator delete. Both go through Asio's recycling allocator: the warning is the
// compiler's false positive, not a mismatch, and it appears or not with the frame's size.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
