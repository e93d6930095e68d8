// Heap counter for benchmarks: the binary that links heap_counter.cc replaces the global
// operator new/delete and counts live heap bytes (usable sizes), so a benchmark can report
// the peak its measured pass reached.
#ifndef STRUCTPRUNE_BENCH_HEAP_COUNTER_H_
#define STRUCTPRUNE_BENCH_HEAP_COUNTER_H_

#include <cstdint>

namespace structprune::bench {

// Bytes allocated through operator new and not yet deleted, process-wide.
int64_t LiveHeapBytes();

// Starts a new peak window at the current live bytes.
void ResetHeapPeak();

// The highest live bytes since the last ResetHeapPeak() (or the start of the process).
int64_t PeakHeapBytes();

}  // namespace structprune::bench

#endif  // STRUCTPRUNE_BENCH_HEAP_COUNTER_H_
