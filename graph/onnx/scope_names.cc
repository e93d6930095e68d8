#include "graph/onnx/scope_names.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace structprune::internal {
namespace {

bool IsNumeric(absl::string_view atom) {
  if (atom.empty()) return false;
  for (char c : atom) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Index of the last non-numeric atom; -1 when every atom is numeric.
int LastNonNumeric(const std::vector<std::string>& atoms) {
  for (int i = static_cast<int>(atoms.size()) - 1; i >= 0; --i) {
    if (!IsNumeric(atoms[i])) return i;
  }
  return -1;
}

}  // namespace

bool IsValidFqn(absl::string_view fqn) {
  if (fqn.empty()) return false;
  for (absl::string_view atom : absl::StrSplit(fqn, '.')) {
    if (atom.empty()) return false;
  }
  return true;
}

std::optional<std::string> ScopeFqnFromNodeName(absl::string_view node_name) {
  if (node_name.size() < 2 || node_name[0] != '/') return std::nullopt;
  std::vector<absl::string_view> parts = absl::StrSplit(node_name.substr(1), '/');
  parts.pop_back();              // the op part ("Conv", "Relu_1")
  std::vector<std::string> fqn;  // atoms
  for (absl::string_view component : parts) {
    if (!IsValidFqn(component)) return std::nullopt;
    std::vector<std::string> atoms = absl::StrSplit(component, '.');
    if (IsNumeric(atoms.front())) {
      // Every atom numeric: the component is the whole FQN.
      for (const std::string& a : atoms) {
        if (!IsNumeric(a)) return std::nullopt;
      }
      fqn = atoms;
    } else if (atoms.size() == 1) {
      fqn.push_back(atoms.front());  // a named child
    } else {
      // "<last non-numeric atom of the parent>.<numeric atoms>": a numbered child.
      for (size_t i = 1; i < atoms.size(); ++i) {
        if (!IsNumeric(atoms[i])) return std::nullopt;
      }
      const int k = LastNonNumeric(fqn);
      if (k < 0 || fqn[k] != atoms.front()) return std::nullopt;
      fqn.resize(k);
      fqn.insert(fqn.end(), atoms.begin(), atoms.end());
    }
  }
  return absl::StrJoin(fqn, ".");
}

std::string ScopePathFromFqn(absl::string_view fqn) {
  if (fqn.empty()) return "";
  std::vector<std::string> atoms = absl::StrSplit(fqn, '.');
  std::string path;
  for (size_t i = 0; i < atoms.size(); ++i) {
    std::vector<std::string> prefix(atoms.begin(), atoms.begin() + i + 1);
    const int k = LastNonNumeric(prefix);
    std::vector<std::string> tail(prefix.begin() + (k < 0 ? 0 : k), prefix.end());
    path += "/" + absl::StrJoin(tail, ".");
  }
  return path;
}

std::string SanitizeModuleName(absl::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  }
  return out.empty() ? std::string("module") : out;
}

}  // namespace structprune::internal
