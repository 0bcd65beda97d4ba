// What Lamina's recurrent kernels (gru_kernel.cpp, lstm_kernel.cpp) share, apart from
// their cells' arithmetic: the team of threads that runs a whole sequence, the
// register-blocked products each thread runs on its slice of the units, and the
// activations in plain arithmetic.
//
// The recurrence runs inside one OpenMP team (torch's own pool) for the whole sequence:
// each thread owns a slice of the units, keeps its slice of W_hh packed in its cache, and
// per step computes its columns of the product with the previous state, then its units'
// gates and state, and meets the others at one barrier. A BLAS call per step would cost
// a fork, a join and a repacking of W_hh every step; the team pays one barrier.
#pragma once

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

namespace lamina_native {

// Checks a layer's tensors: x (batch, time, features) on the CPU, w_ih (gates H,
// features), w_hh (gates H, H), each state (batch, H), all in x's dtype.
inline void check_shapes(const at::Tensor& x, const std::vector<at::Tensor>& states,
                         const at::Tensor& w_ih, const at::Tensor& w_hh, int64_t gates) {
  TORCH_CHECK(x.dim() == 3 && x.device().is_cpu(),
              "Expected x of shape (batch, time, features) on the CPU, received: x.shape=",
              x.sizes());
  const int64_t H = w_hh.size(1);
  TORCH_CHECK(w_hh.size(0) == gates * H && w_ih.size(0) == gates * H &&
                  w_ih.size(1) == x.size(2),
              "Expected w_ih (", gates, "H, features) and w_hh (", gates,
              "H, H), received: w_ih.shape=", w_ih.sizes(), ", w_hh.shape=", w_hh.sizes(),
              ", x.shape=", x.sizes());
  for (const at::Tensor& s : states) {
    TORCH_CHECK(s.dim() == 2 && s.size(0) == x.size(0) && s.size(1) == H,
                "Expected a state of shape (batch, units), received: state.shape=", s.sizes());
    TORCH_CHECK(s.scalar_type() == x.scalar_type(),
                "Expected the states in x's dtype, received: x.dtype=", x.scalar_type(),
                ", state.dtype=", s.scalar_type());
  }
  TORCH_CHECK(w_ih.scalar_type() == x.scalar_type() && w_hh.scalar_type() == x.scalar_type(),
              "Expected the weights in x's dtype, received: x.dtype=", x.scalar_type(),
              ", w_hh.dtype=", w_hh.scalar_type());
}

// ---- The per-step product: a register-blocked kernel over W_hh packed in panels.
// The widest vectors the build targets (-march=native): rows of the block kept in
// registers are as many as the register file holds (32 vector registers with AVX-512).
#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
constexpr int kRows = 8;
#elif defined(__AVX__)
constexpr int kVectorBytes = 32;
constexpr int kRows = 4;
#else
constexpr int kVectorBytes = 16;
constexpr int kRows = 4;
#endif

template <typename T>
struct Vec;
template <>
struct Vec<float> {
  typedef float type __attribute__((vector_size(kVectorBytes)));
  typedef float loose __attribute__((vector_size(kVectorBytes), aligned(4), may_alias));
};
template <>
struct Vec<double> {
  typedef double type __attribute__((vector_size(kVectorBytes)));
  typedef double loose __attribute__((vector_size(kVectorBytes), aligned(8), may_alias));
};
template <typename T>
constexpr int kLanes = kVectorBytes / static_cast<int>(sizeof(T));
template <typename T>
constexpr int kPanel = 2 * kLanes<T>;  // columns of one packed panel: two vectors

// c (M x panel, row stride ldc) = a (M x K, row stride lda) times one panel (K x panel,
// contiguous). The M x 2 accumulators stay in registers through the K loop.
template <typename T, int M>
inline void panel_product(const T* __restrict__ a, int64_t lda, const T* __restrict__ panel,
                          int64_t K, T* __restrict__ c, int64_t ldc) {
  using V = typename Vec<T>::type;
  using Loose = typename Vec<T>::loose;
  constexpr int L = kLanes<T>;
  constexpr int P = kPanel<T>;
  V lo[M], hi[M];
  for (int i = 0; i < M; ++i) {
    lo[i] = V{};
    hi[i] = V{};
  }
  for (int64_t k = 0; k < K; ++k) {
    const V b0 = *reinterpret_cast<const Loose*>(panel + k * P);
    const V b1 = *reinterpret_cast<const Loose*>(panel + k * P + L);
    for (int i = 0; i < M; ++i) {
      const T s = a[i * lda + k];
      lo[i] += s * b0;
      hi[i] += s * b1;
    }
  }
  for (int i = 0; i < M; ++i) {
    *reinterpret_cast<Loose*>(c + i * ldc) = lo[i];
    *reinterpret_cast<Loose*>(c + i * ldc + L) = hi[i];
  }
}

// c (rows x panels*P) = a (rows x K) times the packed panels.
template <typename T>
void small_product(const T* a, int64_t lda, const T* packed, int64_t K, int64_t panels, T* c,
                   int64_t ldc, int64_t rows) {
  constexpr int P = kPanel<T>;
  for (int64_t p = 0; p < panels; ++p) {
    const T* panel = packed + p * K * P;
    T* cp = c + p * P;
    int64_t i = 0;
    for (; i + kRows <= rows; i += kRows)
      panel_product<T, kRows>(a + i * lda, lda, panel, K, cp + i * ldc, ldc);
    if (kRows > 4 && i + 4 <= rows) {
      panel_product<T, 4>(a + i * lda, lda, panel, K, cp + i * ldc, ldc);
      i += 4;
    }
    for (; i < rows; ++i) panel_product<T, 1>(a + i * lda, lda, panel, K, cp + i * ldc, ldc);
  }
}

// c (M x panel, ldc) += a^T b for one panel of columns: a is K x M (row stride lda), so
// each k broadcasts M consecutive values of one row of a; b is K x panel (row stride ldb).
template <typename T, int M>
inline void panel_accumulate_t(const T* __restrict__ a, int64_t lda, const T* __restrict__ b,
                               int64_t ldb, int64_t K, T* __restrict__ c, int64_t ldc) {
  using V = typename Vec<T>::type;
  using Loose = typename Vec<T>::loose;
  constexpr int L = kLanes<T>;
  V lo[M], hi[M];
  for (int i = 0; i < M; ++i) {
    lo[i] = *reinterpret_cast<const Loose*>(c + i * ldc);
    hi[i] = *reinterpret_cast<const Loose*>(c + i * ldc + L);
  }
  for (int64_t k = 0; k < K; ++k) {
    const V b0 = *reinterpret_cast<const Loose*>(b + k * ldb);
    const V b1 = *reinterpret_cast<const Loose*>(b + k * ldb + L);
    for (int i = 0; i < M; ++i) {
      const T s = a[k * lda + i];
      lo[i] += s * b0;
      hi[i] += s * b1;
    }
  }
  for (int i = 0; i < M; ++i) {
    *reinterpret_cast<Loose*>(c + i * ldc) = lo[i];
    *reinterpret_cast<Loose*>(c + i * ldc + L) = hi[i];
  }
}

// c (rows x n, ldc) += a^T b: a (K x rows, row stride lda), b (K x n, row stride ldb). A
// weight gradient summed step by step while the step's gate gradients are in cache.
template <typename T>
void accumulate_product_t(const T* a, int64_t lda, int64_t rows, const T* b, int64_t ldb,
                          int64_t n, int64_t K, T* c, int64_t ldc) {
  constexpr int P = kPanel<T>;
  int64_t j = 0;
  for (; j + P <= n; j += P) {
    int64_t i = 0;
    for (; i + kRows <= rows; i += kRows)
      panel_accumulate_t<T, kRows>(a + i, lda, b + j, ldb, K, c + i * ldc + j, ldc);
    if (kRows > 4 && i + 4 <= rows) {
      panel_accumulate_t<T, 4>(a + i, lda, b + j, ldb, K, c + i * ldc + j, ldc);
      i += 4;
    }
    for (; i < rows; ++i)
      panel_accumulate_t<T, 1>(a + i, lda, b + j, ldb, K, c + i * ldc + j, ldc);
  }
  for (int64_t i = 0; i < rows && j < n; ++i) {  // the columns past the last full panel
    for (int64_t jj = j; jj < n; ++jj) {
      T sum = T(0);
      for (int64_t k = 0; k < K; ++k) sum += a[k * lda + i] * b[k * ldb + jj];
      c[i * ldc + jj] += sum;
    }
  }
}

// A zeroed buffer on a cache-line boundary: a vector load that straddles two lines costs
// two, so a thread whose panels were misaligned ran its product slower and the others
// waited for it at the barrier.
template <typename T>
struct Buffer {
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T[], Free> data;
  explicit Buffer(int64_t n) {
    const size_t count = static_cast<size_t>(std::max<int64_t>(n, 1));
    const size_t bytes = (count * sizeof(T) + 63) / 64 * 64;
    data.reset(static_cast<T*>(std::aligned_alloc(64, bytes)));
    TORCH_CHECK(data != nullptr, "Expected to allocate ", bytes,
                " bytes for a recurrent kernel's buffers, received: no memory");
    std::fill_n(data.get(), std::max<int64_t>(n, 1), T(0));
  }
  T* get() const { return data.get(); }
};

// Packs `cols` columns of a K-row matrix into panels of P columns (zero padded): panel p
// holds element(k, cols[p P + j]) at [p][k][j]. element(k, col) reads the source.
template <typename T, typename Element>
Buffer<T> pack_panels(int64_t K, const std::vector<int64_t>& cols, const Element& element) {
  constexpr int P = kPanel<T>;
  const int64_t panels = (static_cast<int64_t>(cols.size()) + P - 1) / P;
  Buffer<T> out(panels * K * P);
  for (int64_t p = 0; p < panels; ++p) {
    for (int64_t j = 0; j < P && p * P + j < static_cast<int64_t>(cols.size()); ++j) {
      const int64_t col = cols[p * P + j];
      for (int64_t k = 0; k < K; ++k) out.get()[(p * K + k) * P + j] = element(k, col);
    }
  }
  return out;
}

// A thread's gate columns: `gates` groups (one per gate, each H wide) of its units
// [u, u + w).
inline std::vector<int64_t> gate_columns(int64_t gates, int64_t H, int64_t u, int64_t w) {
  std::vector<int64_t> cols;
  for (int64_t gate = 0; gate < gates; ++gate)
    for (int64_t j = 0; j < w; ++j) cols.push_back(gate * H + u + j);
  return cols;
}

// A thread's two products per forward step, W_hh h and W_ih x over its gate columns, from
// weights packed once per call (W_ih x here, step by step, spares writing all steps'
// projections to memory and reading them back). gh and gi: (B, ldc), column j of the
// thread's columns at j.
template <typename T>
struct StepProducts {
  int64_t panels, ldc;
  Buffer<T> packed_hh, packed_ih, gh, gi;
  StepProducts(const T* w_hh, const T* w_ih, const std::vector<int64_t>& cols, int64_t H,
               int64_t I, int64_t B)
      : panels((static_cast<int64_t>(cols.size()) + kPanel<T> - 1) / kPanel<T>),
        ldc(panels * kPanel<T>),
        packed_hh(pack_panels<T>(H, cols, [&](int64_t k, int64_t c) { return w_hh[c * H + k]; })),
        packed_ih(pack_panels<T>(I, cols, [&](int64_t k, int64_t c) { return w_ih[c * I + k]; })),
        gh(B * ldc),
        gi(B * ldc) {}
  void run(const T* h, const T* x, int64_t B, int64_t H, int64_t I) {
    small_product(h, H, packed_hh.get(), H, panels, gh.get(), ldc, B);
    small_product(x, I, packed_ih.get(), I, panels, gi.get(), ldc, B);
  }
};

// A thread's product through W_hh in a backward step: its units of the previous state's
// gradient, dh[:, u:u+w] = base[:, u:u+w] + dg W_hh[:, u:u+w], dg the step's gradients of
// every gate column (B x gates H).
template <typename T>
struct StateGradient {
  int64_t H, u, w, K, panels, ldc;
  Buffer<T> packed, c;
  StateGradient(const T* w_hh, int64_t gates, int64_t H_, int64_t u_, int64_t w_, int64_t B)
      : H(H_), u(u_), w(w_), K(gates * H_), panels((w_ + kPanel<T> - 1) / kPanel<T>),
        ldc(panels * kPanel<T>),
        packed(pack_panels<T>(K, gate_columns(1, H_, u_, w_),
                              [&](int64_t k, int64_t col) { return w_hh[k * H_ + col]; })),
        c(B * ldc) {}
  void run(const T* dg, const T* base, T* dh, int64_t B) {
    small_product(dg, K, packed.get(), K, panels, c.get(), ldc, B);
    for (int64_t b = 0; b < B; ++b) {
      const T* c_b = c.get() + b * ldc;
      const T* base_b = base + b * H + u;
      T* dh_b = dh + b * H + u;
      for (int64_t j = 0; j < w; ++j) dh_b[j] = base_b[j] + c_b[j];
    }
  }
};

// ---- The team: torch's OpenMP threads (one thread in a build without OpenMP).
inline int64_t team_size(int64_t H) {
  // A slice narrower than 16 units spends more at the barrier than it saves.
  return std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), H / 16));
}

// Runs `run(state, index, threads)` on each thread of a team of up to `wanted` threads,
// `state` being what `prepare(index, threads)` built for that thread (its packed weights
// and buffers). Every thread prepares before any runs, so an error while preparing (an
// allocation) is raised after the team ends instead of escaping a parallel region, which
// would abort the process, or leaving the other threads waiting at a barrier.
template <typename Prepare, typename Run>
void on_team(int64_t wanted, const Prepare& prepare, const Run& run) {
  using State = std::invoke_result_t<Prepare, int, int>;
#ifdef _OPENMP
  if (wanted > 1) {
    std::exception_ptr error;
#pragma omp parallel num_threads(static_cast<int>(wanted))
    {
      const int index = omp_get_thread_num(), threads = omp_get_num_threads();
      std::optional<State> state;
      try {
        state.emplace(prepare(index, threads));
      } catch (...) {
#pragma omp critical(lamina_team_error)
        if (!error) error = std::current_exception();
      }
#pragma omp barrier
      if (!error) run(*state, index, threads);
    }
    if (error) std::rethrow_exception(error);
    return;
  }
#endif
  (void)wanted;
  State state = prepare(0, 1);
  run(state, 0, 1);
}

// Every thread of the team waits here for the others (a barrier; nothing without OpenMP).
inline void meet() {
#ifdef _OPENMP
#pragma omp barrier
#endif
}

// The units [begin, end) a thread owns; every thread runs every step (and meets), owning
// units or not.
struct Slice {
  int64_t begin, width;
};
inline Slice slice_of(int threads_index, int threads, int64_t H) {
  const int64_t per = (H + threads - 1) / threads;
  const int64_t begin = std::min(H, threads_index * per);
  return {begin, std::min(H, begin + per) - begin};
}

// exp for float in plain arithmetic, so the gate loop vectorizes (libm's expf does not
// without -ffast-math): Cody-Waite reduction x = k ln2 + r, a degree-6 polynomial for
// e^r (Cephes' expf coefficients, about 1 ulp), and 2^k written into the exponent bits.
inline float exp_float(float x) {
  x = std::min(std::max(x, -87.3f), 88.3f);  // keeps 2^k a normal float
  const float k = std::floor(x * 1.44269504088896341f + 0.5f);
  const float r = x - k * 0.693359375f + k * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
  return p * std::bit_cast<float>(bits);
}

template <typename scalar_t>
inline scalar_t sigmoid(scalar_t x) {
  if constexpr (std::is_same_v<scalar_t, float>) {
    return 1.0f / (1.0f + exp_float(-x));
  } else {
    return scalar_t(1) / (scalar_t(1) + std::exp(-x));
  }
}

}  // namespace lamina_native
