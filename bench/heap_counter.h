// Heap counter for benchmarks: the binary that links heap_counter.cc replaces malloc, calloc,
// realloc, free and the aligned forms (operator new and Tensor storage both end there) and
// counts live heap bytes (usable sizes) and allocations, so a benchmark can report the peak
// and the number of allocations its measured pass made.
#ifndef STRUCTPRUNE_BENCH_HEAP_COUNTER_H_
#define STRUCTPRUNE_BENCH_HEAP_COUNTER_H_

#include <cstdint>

namespace structprune::bench {

// Bytes allocated and not yet freed, process-wide.
int64_t LiveHeapBytes();

// Starts a new peak window at the current live bytes.
void ResetHeapPeak();

// The highest live bytes since the last ResetHeapPeak() (or the start of the process).
int64_t PeakHeapBytes();

// Allocations made since the process started.
int64_t HeapAllocations();

}  // namespace structprune::bench

#endif  // STRUCTPRUNE_BENCH_HEAP_COUNTER_H_
