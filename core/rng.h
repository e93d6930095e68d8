// Rng: a seeded engine with our own distributions, so values match across standard libraries.
#ifndef STRUCTPRUNE_CORE_RNG_H_
#define STRUCTPRUNE_CORE_RNG_H_

#include <cstdint>
#include <random>

#include "core/tensor.h"

namespace structprune {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : engine_(seed) {}

  uint64_t NextU64() { return engine_(); }
  // Uniform in [lo, hi).
  float Uniform(float lo = 0.0f, float hi = 1.0f);
  // Standard normal via Box-Muller (deterministic, no cached second value).
  float Normal(float mean = 0.0f, float stddev = 1.0f);
  // Uniform integer in [0, n).
  int64_t UniformInt(int64_t n);

  Tensor UniformTensor(const Shape& shape, float lo, float hi);
  Tensor NormalTensor(const Shape& shape, float mean = 0.0f, float stddev = 1.0f);

 private:
  std::mt19937_64 engine_;  // the engine's sequence is fixed by the standard
};

}  // namespace structprune

#endif  // STRUCTPRUNE_CORE_RNG_H_
