// ChoiceSource: where a random test case takes its decisions from. The same generators serve
// property tests (a seeded Rng) and fuzzers (the fuzzer's bytes), so a fuzzer explores exactly
// the cases the property tests draw.
#ifndef STRUCTPRUNE_TESTS_TESTING_CHOICE_SOURCE_H_
#define STRUCTPRUNE_TESTS_TESTING_CHOICE_SOURCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/rng.h"

namespace structprune::testing {

class ChoiceSource {
 public:
  virtual ~ChoiceSource() = default;

  // An integer in [lo, hi], both included; lo when hi <= lo.
  virtual int64_t Int(int64_t lo, int64_t hi) = 0;
  // A float in [0, 1).
  virtual float Uniform() = 0;

  bool Bool() { return Int(0, 1) == 1; }
  // True with probability p. Written as Uniform() >= 1 - p so that a source returning its
  // default (0) answers false: an exhausted byte string adds nothing optional.
  bool Chance(double p) { return Uniform() >= 1.0 - p; }
  // A multiple of 1/8 in [lo, hi]: exact in float, so attributes survive ONNX's float32 and
  // print as they are.
  double Eighths(double lo, double hi) {
    return static_cast<double>(Int(static_cast<int64_t>(lo * 8), static_cast<int64_t>(hi * 8))) / 8;
  }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[Int(0, static_cast<int64_t>(items.size()) - 1)];
  }
};

// Draws from a seeded Rng: equal seeds, equal cases.
class RngChoiceSource : public ChoiceSource {
 public:
  explicit RngChoiceSource(uint64_t seed) : rng_(seed) {}
  int64_t Int(int64_t lo, int64_t hi) override;
  float Uniform() override;

 private:
  Rng rng_;
};

// Consumes a byte string front to back: Int takes as many bytes as its range needs (little
// endian, reduced modulo the range), Uniform two bytes. Once the bytes run out every choice
// is its default: lo, 0.0f, false. The string is not copied: it must outlive the source.
class BytesChoiceSource : public ChoiceSource {
 public:
  explicit BytesChoiceSource(absl::string_view bytes) : bytes_(bytes) {}
  int64_t Int(int64_t lo, int64_t hi) override;
  float Uniform() override;
  size_t remaining() const { return bytes_.size() - pos_; }

 private:
  absl::string_view bytes_;
  size_t pos_ = 0;
};

}  // namespace structprune::testing

#endif  // STRUCTPRUNE_TESTS_TESTING_CHOICE_SOURCE_H_
