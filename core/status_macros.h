// Status propagation helpers: SP_RETURN_IF_ERROR, SP_ASSIGN_OR_RETURN, SP_DCHECK.
#ifndef STRUCTPRUNE_CORE_STATUS_MACROS_H_
#define STRUCTPRUNE_CORE_STATUS_MACROS_H_

#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SP_CONCAT_INNER_(a, b) a##b
#define SP_CONCAT_(a, b) SP_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function when `expr` is not OK.
#define SP_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    absl::Status sp_status_ = (expr);            \
    if (!sp_status_.ok()) return sp_status_;     \
  } while (0)

// `SP_ASSIGN_OR_RETURN(auto x, Foo())` declares x from an OK StatusOr or returns its status.
#define SP_ASSIGN_OR_RETURN(lhs, expr) \
  SP_ASSIGN_OR_RETURN_IMPL_(SP_CONCAT_(sp_statusor_, __LINE__), lhs, expr)
#define SP_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

// Guards invariants our own code guarantees (never user input). Active in every build type:
// a broken invariant is a bug we want to see, not silent memory corruption.
#define SP_DCHECK(cond)                                                              \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "%s:%d: internal check failed: %s\n", __FILE__, __LINE__, \
                   #cond);                                                           \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)

#endif  // STRUCTPRUNE_CORE_STATUS_MACROS_H_
