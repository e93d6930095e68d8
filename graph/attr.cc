#include "graph/attr.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace structprune {
namespace {

absl::Status WrongType(absl::string_view name, absl::string_view expected, const AttrValue& v) {
  return absl::InvalidArgumentError(absl::StrCat("attribute '", name, "' must be ", expected,
                                                 ", got ", AttrValueToString(v)));
}

}  // namespace

absl::StatusOr<int64_t> GetIntAttr(const AttrMap& attrs, absl::string_view name,
                                   int64_t default_value) {
  auto it = attrs.find(name);
  if (it == attrs.end()) return default_value;
  if (const auto* v = std::get_if<int64_t>(&it->second)) return *v;
  return WrongType(name, "an int", it->second);
}

absl::StatusOr<double> GetFloatAttr(const AttrMap& attrs, absl::string_view name,
                                    double default_value) {
  auto it = attrs.find(name);
  if (it == attrs.end()) return default_value;
  if (const auto* v = std::get_if<double>(&it->second)) return *v;
  if (const auto* v = std::get_if<int64_t>(&it->second)) return static_cast<double>(*v);
  return WrongType(name, "a number", it->second);
}

absl::StatusOr<bool> GetBoolAttr(const AttrMap& attrs, absl::string_view name, bool default_value) {
  auto it = attrs.find(name);
  if (it == attrs.end()) return default_value;
  if (const auto* v = std::get_if<bool>(&it->second)) return *v;
  return WrongType(name, "a bool", it->second);
}

absl::StatusOr<std::string> GetStringAttr(const AttrMap& attrs, absl::string_view name,
                                          std::string default_value) {
  auto it = attrs.find(name);
  if (it == attrs.end()) return default_value;
  if (const auto* v = std::get_if<std::string>(&it->second)) return *v;
  return WrongType(name, "a string", it->second);
}

absl::StatusOr<std::vector<int64_t>> GetIntsAttr(const AttrMap& attrs, absl::string_view name,
                                                 std::vector<int64_t> default_value) {
  auto it = attrs.find(name);
  if (it == attrs.end()) return default_value;
  if (const auto* v = std::get_if<std::vector<int64_t>>(&it->second)) return *v;
  if (const auto* v = std::get_if<int64_t>(&it->second)) return std::vector<int64_t>{*v};
  return WrongType(name, "a list of ints", it->second);
}

absl::StatusOr<std::array<int64_t, 2>> GetPairAttr(const AttrMap& attrs, absl::string_view name,
                                                   std::array<int64_t, 2> default_value) {
  auto it = attrs.find(name);
  if (it == attrs.end()) return default_value;
  if (const auto* v = std::get_if<int64_t>(&it->second)) return std::array<int64_t, 2>{*v, *v};
  if (const auto* v = std::get_if<std::vector<int64_t>>(&it->second)) {
    if (v->size() == 1) return std::array<int64_t, 2>{(*v)[0], (*v)[0]};
    if (v->size() == 2) return std::array<int64_t, 2>{(*v)[0], (*v)[1]};
  }
  return WrongType(name, "an int or a list of 2 ints", it->second);
}

std::string AttrValueToString(const AttrValue& value) {
  struct Printer {
    std::string operator()(int64_t v) const { return absl::StrCat(v); }
    std::string operator()(double v) const { return absl::StrCat(v); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(const std::string& v) const { return absl::StrCat("\"", v, "\""); }
    std::string operator()(const std::vector<int64_t>& v) const {
      return absl::StrCat("[", absl::StrJoin(v, ", "), "]");
    }
  };
  return std::visit(Printer{}, value);
}

std::string AttrMapToString(const AttrMap& attrs) {
  std::string out = "{";
  for (const auto& [name, value] : attrs) {
    if (out.size() > 1) out += ", ";
    absl::StrAppend(&out, name, ": ", AttrValueToString(value));
  }
  return out + "}";
}

}  // namespace structprune
