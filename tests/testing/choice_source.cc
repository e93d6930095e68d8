#include "tests/testing/choice_source.h"

namespace structprune::testing {

int64_t RngChoiceSource::Int(int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  return lo + rng_.UniformInt(hi - lo + 1);
}

float RngChoiceSource::Uniform() { return rng_.Uniform(); }

int64_t BytesChoiceSource::Int(int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  // The range as unsigned: hi - lo + 1 overflows int64 for the widest ranges.
  const uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
  uint64_t raw = 0;
  int shift = 0;
  for (uint64_t span = range - 1; span != 0 && pos_ < bytes_.size(); span >>= 8, shift += 8) {
    raw |= static_cast<uint64_t>(static_cast<uint8_t>(bytes_[pos_++])) << shift;
  }
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + (range == 0 ? raw : raw % range));
}

float BytesChoiceSource::Uniform() {
  uint32_t raw = 0;
  for (int shift = 0; shift < 16 && pos_ < bytes_.size(); shift += 8) {
    raw |= static_cast<uint32_t>(static_cast<uint8_t>(bytes_[pos_++])) << shift;
  }
  return static_cast<float>(raw) / 65536.0f;
}

}  // namespace structprune::testing
