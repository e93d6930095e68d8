#include "bench/heap_counter.h"

#include <malloc.h>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

namespace structprune::bench {
namespace {

std::atomic<int64_t> live_bytes{0};
std::atomic<int64_t> peak_bytes{0};

// Counts malloc_usable_size: the same number on allocation and on release, whatever size
// (if any) the matching delete passes.
void* Counted(void* p) {
  if (p == nullptr) return nullptr;
  const auto n = static_cast<int64_t>(malloc_usable_size(p));
  const int64_t live = live_bytes.fetch_add(n, std::memory_order_relaxed) + n;
  int64_t peak = peak_bytes.load(std::memory_order_relaxed);
  while (live > peak && !peak_bytes.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
  }
  return p;
}

void Release(void* p) {
  if (p == nullptr) return;
  live_bytes.fetch_sub(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}

void* Allocate(std::size_t size, std::size_t alignment) {
  if (size == 0) size = 1;
  void* p = nullptr;
  if (alignment <= alignof(std::max_align_t)) {
    p = std::malloc(size);
  } else if (posix_memalign(&p, alignment, size) != 0) {
    p = nullptr;
  }
  return Counted(p);
}

void* AllocateOrThrow(std::size_t size, std::size_t alignment) {
  void* p = Allocate(size, alignment);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

int64_t LiveHeapBytes() { return live_bytes.load(std::memory_order_relaxed); }

void ResetHeapPeak() { peak_bytes.store(LiveHeapBytes(), std::memory_order_relaxed); }

int64_t PeakHeapBytes() { return peak_bytes.load(std::memory_order_relaxed); }

}  // namespace structprune::bench

// The replaceable global allocation functions ([new.delete]): every form the program or
// libstructprune (Tensor storage uses the aligned ones) may call.
using structprune::bench::AllocateOrThrow;

void* operator new(std::size_t size) { return AllocateOrThrow(size, 0); }
void* operator new[](std::size_t size) { return AllocateOrThrow(size, 0); }
void* operator new(std::size_t size, std::align_val_t al) {
  return AllocateOrThrow(size, static_cast<std::size_t>(al));
}
void* operator new[](std::size_t size, std::align_val_t al) {
  return AllocateOrThrow(size, static_cast<std::size_t>(al));
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return structprune::bench::Allocate(size, 0);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return structprune::bench::Allocate(size, 0);
}
void* operator new(std::size_t size, std::align_val_t al, const std::nothrow_t&) noexcept {
  return structprune::bench::Allocate(size, static_cast<std::size_t>(al));
}
void* operator new[](std::size_t size, std::align_val_t al, const std::nothrow_t&) noexcept {
  return structprune::bench::Allocate(size, static_cast<std::size_t>(al));
}

void operator delete(void* p) noexcept { structprune::bench::Release(p); }
void operator delete[](void* p) noexcept { structprune::bench::Release(p); }
void operator delete(void* p, std::size_t) noexcept { structprune::bench::Release(p); }
void operator delete[](void* p, std::size_t) noexcept { structprune::bench::Release(p); }
void operator delete(void* p, std::align_val_t) noexcept { structprune::bench::Release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { structprune::bench::Release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  structprune::bench::Release(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  structprune::bench::Release(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { structprune::bench::Release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { structprune::bench::Release(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  structprune::bench::Release(p);
}
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  structprune::bench::Release(p);
}
