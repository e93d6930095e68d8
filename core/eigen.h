// Row-major Eigen::Map views of a Tensor (Eigen defaults to column-major).
#ifndef STRUCTPRUNE_CORE_EIGEN_H_
#define STRUCTPRUNE_CORE_EIGEN_H_

#include <Eigen/Core>

#include "core/tensor.h"

namespace structprune {

using RowMajorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<RowMajorMatrix, Eigen::Aligned64>;
using ConstMatrixMap = Eigen::Map<const RowMajorMatrix>;
using VectorMap = Eigen::Map<Eigen::VectorXf>;
using ConstVectorMap = Eigen::Map<const Eigen::VectorXf>;

// `rows` x `cols` row-major view of a float tensor's storage (rows * cols == numel()).
inline Eigen::Map<RowMajorMatrix> AsMatrix(Tensor& t, int64_t rows, int64_t cols) {
  return Eigen::Map<RowMajorMatrix>(t.data<float>(), rows, cols);
}
inline ConstMatrixMap AsMatrix(const Tensor& t, int64_t rows, int64_t cols) {
  return ConstMatrixMap(t.data<float>(), rows, cols);
}
inline ConstMatrixMap AsMatrix(const float* p, int64_t rows, int64_t cols) {
  return ConstMatrixMap(p, rows, cols);
}
inline Eigen::Map<RowMajorMatrix> AsMatrix(float* p, int64_t rows, int64_t cols) {
  return Eigen::Map<RowMajorMatrix>(p, rows, cols);
}

}  // namespace structprune

#endif  // STRUCTPRUNE_CORE_EIGEN_H_
