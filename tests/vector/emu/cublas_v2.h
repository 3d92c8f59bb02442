// cuBLAS's SGEMM emulated on the CPU for gpu_emu_test (see cuda_runtime.h here): column-major,
// as documented, with its argument checks, and every matrix required in device memory.
#pragma once

#include "cuda_runtime.h"

struct cublasContext {};
typedef cublasContext* cublasHandle_t;
enum cublasStatus_t { CUBLAS_STATUS_SUCCESS = 0, CUBLAS_STATUS_INVALID_VALUE = 7 };
enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 };

static inline cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  *handle = new cublasContext;
  return CUBLAS_STATUS_SUCCESS;
}
static inline cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}
// C (m x n) = alpha op(A) (m x k) op(B) (k x n) + beta C, column-major with leading dimensions.
static inline cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa,
                                            cublasOperation_t transb, int m, int n, int k,
                                            const float* alpha, const float* a, int lda,
                                            const float* b, int ldb, const float* beta, float* c,
                                            int ldc) {
  if (handle == nullptr || m < 0 || n < 0 || k < 0 || lda < std::max(1, transa == CUBLAS_OP_N ? m : k) ||
      ldb < std::max(1, transb == CUBLAS_OP_N ? k : n) || ldc < std::max(1, m)) {
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
  if (!cuda_emu::OnDevice(a) || !cuda_emu::OnDevice(b) || !cuda_emu::OnDevice(c)) {
    std::fprintf(stderr, "cuda_emu: cublasSgemm given host memory\n");
    std::abort();
  }
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < m; ++i) {
      float sum = 0;
      for (int l = 0; l < k; ++l) {
        const float av = transa == CUBLAS_OP_N ? a[i + static_cast<size_t>(l) * lda] : a[l + static_cast<size_t>(i) * lda];
        const float bv = transb == CUBLAS_OP_N ? b[l + static_cast<size_t>(j) * ldb] : b[j + static_cast<size_t>(l) * ldb];
        sum += av * bv;
      }
      float& out = c[i + static_cast<size_t>(j) * ldc];
      out = *alpha * sum + (*beta == 0.0F ? 0.0F : *beta * out);
    }
  }
  return CUBLAS_STATUS_SUCCESS;
}
