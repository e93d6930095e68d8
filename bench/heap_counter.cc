#include "bench/heap_counter.h"

#include <malloc.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstring>

// glibc's own entry points, which the replacements below forward to.
extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t n, size_t size);
void* __libc_realloc(void* p, size_t size);
void* __libc_memalign(size_t alignment, size_t size);
void __libc_free(void* p);
}

namespace structprune::bench {
namespace {

std::atomic<int64_t> live_bytes{0};
std::atomic<int64_t> peak_bytes{0};
std::atomic<int64_t> allocations{0};

// Counts malloc_usable_size: the same number on allocation and on release.
void* Counted(void* p) {
  if (p == nullptr) return nullptr;
  allocations.fetch_add(1, std::memory_order_relaxed);
  const auto n = static_cast<int64_t>(malloc_usable_size(p));
  const int64_t live = live_bytes.fetch_add(n, std::memory_order_relaxed) + n;
  int64_t peak = peak_bytes.load(std::memory_order_relaxed);
  while (live > peak && !peak_bytes.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
  }
  return p;
}

void Uncount(void* p) {
  if (p != nullptr) live_bytes.fetch_sub(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
}

}  // namespace

int64_t LiveHeapBytes() { return live_bytes.load(std::memory_order_relaxed); }

void ResetHeapPeak() { peak_bytes.store(LiveHeapBytes(), std::memory_order_relaxed); }

int64_t PeakHeapBytes() { return peak_bytes.load(std::memory_order_relaxed); }

int64_t HeapAllocations() { return allocations.load(std::memory_order_relaxed); }

}  // namespace structprune::bench

// The C allocation functions, replaced process-wide (glibc supports interposing them): every
// operator new, Tensor storage (calloc) and library allocation goes through these.
using structprune::bench::Counted;
using structprune::bench::Uncount;

extern "C" {

void* malloc(size_t size) { return Counted(__libc_malloc(size)); }

void* calloc(size_t n, size_t size) { return Counted(__libc_calloc(n, size)); }

void* realloc(void* p, size_t size) {
  const int64_t before = p == nullptr ? 0 : static_cast<int64_t>(malloc_usable_size(p));
  void* q = __libc_realloc(p, size);
  if (q == nullptr) return nullptr;  // p (if any) is untouched
  structprune::bench::live_bytes.fetch_sub(before, std::memory_order_relaxed);
  return Counted(q);
}

void free(void* p) {
  Uncount(p);
  __libc_free(p);
}

void* memalign(size_t alignment, size_t size) { return Counted(__libc_memalign(alignment, size)); }

void* aligned_alloc(size_t alignment, size_t size) { return memalign(alignment, size); }

int posix_memalign(void** out, size_t alignment, size_t size) {
  if (alignment < sizeof(void*) || (alignment & (alignment - 1)) != 0) return EINVAL;
  void* p = memalign(alignment, size);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

}  // extern "C"
