#include "pruning/report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace structprune {

std::string PruneReport::ToString() const {
  std::string out = absl::StrCat("prune report (", approximate ? "approximate" : "exact",
                                 "): params ", params_before, " -> ", params_after, "\n");
  for (const LayerPruneRecord& r : layers) {
    absl::StrAppend(&out, "  ", r.module_fqn, " [", r.pattern, "]: ", r.channels_before, " -> ",
                    r.channels_after, " channels");
    if (!r.channels_kept_for_exactness.empty()) {
      absl::StrAppend(&out, "; kept for exactness [",
                      absl::StrJoin(r.channels_kept_for_exactness, ", "), "]: ", r.kept_reason);
    }
    if (!r.channels_removed_inexactly.empty()) {
      absl::StrAppend(&out, "; removed inexactly [", absl::StrJoin(r.channels_removed_inexactly, ", "),
                      "]: ", r.inexact_reason);
    }
    out += "\n";
  }
  return out;
}

std::vector<std::string> PruneReport::KeptForExactness() const {
  std::vector<std::string> out;
  for (const LayerPruneRecord& r : layers) {
    if (r.channels_kept_for_exactness.empty()) continue;
    out.push_back(absl::StrCat(r.module_fqn, ": [", absl::StrJoin(r.channels_kept_for_exactness, ", "),
                               "] (", r.kept_reason, ")"));
  }
  return out;
}

}  // namespace structprune
