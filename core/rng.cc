#include "core/rng.h"

#include <cmath>

namespace structprune {

float Rng::Uniform(float lo, float hi) {
  // 24 high bits give every float in [0, 1) the same spacing.
  float u = static_cast<float>(engine_() >> 40) * (1.0f / 16777216.0f);
  return lo + (hi - lo) * u;
}

float Rng::Normal(float mean, float stddev) {
  double u1 = (static_cast<double>(engine_() >> 11) + 1.0) * (1.0 / 9007199254740993.0);
  double u2 = static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0);
  double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  return mean + stddev * static_cast<float>(z);
}

int64_t Rng::UniformInt(int64_t n) { return n <= 0 ? 0 : static_cast<int64_t>(engine_() % n); }

Tensor Rng::UniformTensor(const Shape& shape, float lo, float hi) {
  Tensor t = Tensor::Zeros(shape);
  for (float& v : t.values<float>()) v = Uniform(lo, hi);
  return t;
}

Tensor Rng::NormalTensor(const Shape& shape, float mean, float stddev) {
  Tensor t = Tensor::Zeros(shape);
  for (float& v : t.values<float>()) v = Normal(mean, stddev);
  return t;
}

}  // namespace structprune
