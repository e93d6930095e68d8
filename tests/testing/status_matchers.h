// GMock matchers for absl::Status / absl::StatusOr: IsOk(), StatusIs(code, message_matcher).
#ifndef STRUCTPRUNE_TESTS_TESTING_STATUS_MATCHERS_H_
#define STRUCTPRUNE_TESTS_TESTING_STATUS_MATCHERS_H_

#include <gmock/gmock.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace structprune::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = GetStatus(arg);
  if (!s.ok()) *result_listener << "status is " << s.ToString();
  return s.ok();
}

MATCHER_P2(StatusIs, code, message_matcher, "") {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "status is " << s.ToString();
  return s.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(s.message()), result_listener);
}

}  // namespace structprune::testing

// ASSERT that a StatusOr is OK and bind its value.
#define SP_ASSERT_OK_AND_ASSIGN(lhs, expr) \
  SP_ASSERT_OK_AND_ASSIGN_IMPL_(SP_CONCAT_(sp_test_statusor_, __LINE__), lhs, expr)
#define SP_ASSERT_OK_AND_ASSIGN_IMPL_(tmp, lhs, expr)        \
  auto tmp = (expr);                                         \
  ASSERT_TRUE(tmp.ok()) << tmp.status().ToString();          \
  lhs = std::move(tmp).value()
#define SP_ASSERT_OK(expr)                                     \
  do {                                                         \
    absl::Status sp_test_status_ = ::structprune::testing::GetStatus(expr); \
    ASSERT_TRUE(sp_test_status_.ok()) << sp_test_status_.ToString(); \
  } while (0)

#ifndef SP_CONCAT_
#define SP_CONCAT_INNER_(a, b) a##b
#define SP_CONCAT_(a, b) SP_CONCAT_INNER_(a, b)
#endif

#endif  // STRUCTPRUNE_TESTS_TESTING_STATUS_MATCHERS_H_
