// AttrMap: named attributes of a module or call_function node, under PyTorch's names
// ("kernel_size", "negative_slope"). Typed readers return errors naming the attribute.
#ifndef STRUCTPRUNE_GRAPH_ATTR_H_
#define STRUCTPRUNE_GRAPH_ATTR_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace structprune {

using AttrValue = std::variant<int64_t, double, bool, std::string, std::vector<int64_t>>;
using AttrMap = std::map<std::string, AttrValue, std::less<>>;

// Readers: `default_value` when absent; InvalidArgument naming `name` on a wrong type.
absl::StatusOr<int64_t> GetIntAttr(const AttrMap& attrs, absl::string_view name,
                                   int64_t default_value);
// Accepts ints too (PyTorch lets `eps=1` mean 1.0).
absl::StatusOr<double> GetFloatAttr(const AttrMap& attrs, absl::string_view name,
                                    double default_value);
absl::StatusOr<bool> GetBoolAttr(const AttrMap& attrs, absl::string_view name, bool default_value);
absl::StatusOr<std::string> GetStringAttr(const AttrMap& attrs, absl::string_view name,
                                          std::string default_value);
absl::StatusOr<std::vector<int64_t>> GetIntsAttr(const AttrMap& attrs, absl::string_view name,
                                                 std::vector<int64_t> default_value);
// PyTorch's `_pair`: an int n means (n, n); a list must have 1 or 2 entries.
absl::StatusOr<std::array<int64_t, 2>> GetPairAttr(const AttrMap& attrs, absl::string_view name,
                                                   std::array<int64_t, 2> default_value);

// "{kernel_size: [2, 2], stride: 1}" in key order; the printer and error messages use it.
std::string AttrMapToString(const AttrMap& attrs);
std::string AttrValueToString(const AttrValue& value);

}  // namespace structprune

#endif  // STRUCTPRUNE_GRAPH_ATTR_H_
