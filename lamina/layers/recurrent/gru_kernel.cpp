// A GRU (reset_after, PyTorch's gate order r, z, n) over a whole sequence on the CPU,
// forward and backward, for `native_gru.py` (built by `lamina/runtime/native_build.py`).
//
// torch.gru on the CPU records about fifteen autograd nodes per time step and runs its
// gate arithmetic as separate ATen kernels. Here the recurrence runs inside one OpenMP
// team (torch's own pool) for the whole sequence: each thread owns a slice of the units,
// keeps its slice of W_hh packed in its cache, and per step computes its columns of the
// product with the previous state, then its units' gates and new state, and meets the
// others at one barrier. A BLAS call per step would cost a fork, a join and a repacking
// of W_hh every step; the team pays one barrier. The large products (the input
// projection of all steps, the weight gradients) stay on ATen's mm.
//
// Layouts (T steps, B samples, H units, I features):
//   xt   (T, B, I)    the input, time major
//   hs   (T+1, B, H)  hs[0] = h0, hs[t+1] = the state after step t
//   g    (T, B, 3H)   per row: r, z (after the sigmoid), n (after the tanh)
//   ghn  (T, B, H)    W_hn h + b_hn of each step (the backward needs it)
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <torch/library.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using at::Tensor;

void check(const Tensor& x, const Tensor& h0, const Tensor& w_ih, const Tensor& w_hh) {
  TORCH_CHECK(x.dim() == 3 && x.device().is_cpu(),
              "Expected x of shape (batch, time, features) on the CPU, received: x.shape=",
              x.sizes());
  const int64_t H = w_hh.size(1);
  TORCH_CHECK(w_hh.size(0) == 3 * H && w_ih.size(0) == 3 * H && w_ih.size(1) == x.size(2),
              "Expected w_ih (3H, features) and w_hh (3H, H), received: w_ih.shape=",
              w_ih.sizes(), ", w_hh.shape=", w_hh.sizes(), ", x.shape=", x.sizes());
  TORCH_CHECK(h0.dim() == 2 && h0.size(0) == x.size(0) && h0.size(1) == H,
              "Expected h0 of shape (batch, units), received: h0.shape=", h0.sizes());
  TORCH_CHECK(h0.scalar_type() == x.scalar_type() && w_ih.scalar_type() == x.scalar_type() &&
                  w_hh.scalar_type() == x.scalar_type(),
              "Expected x, h0 and the weights in one dtype, received: x.dtype=",
              x.scalar_type(), ", h0.dtype=", h0.scalar_type(), ", w_hh.dtype=",
              w_hh.scalar_type());
}

// gi = xt W_ih^T for all steps at once: (T, B, 3H). The biases are added in the gate
// passes, which read gi anyway (addmm would first write the broadcast bias, 10 MB).
Tensor input_projection(const Tensor& xt, const Tensor& w_ih) {
  const int64_t T = xt.size(0), B = xt.size(1), I = xt.size(2);
  return at::mm(xt.reshape({T * B, I}), w_ih.t()).view({T, B, w_ih.size(0)});
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
    for (; i + kRows <= rows; i += kRows) panel_product<T, kRows>(a + i * lda, lda, panel, K, cp + i * ldc, ldc);
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
    for (; i < rows; ++i) panel_accumulate_t<T, 1>(a + i, lda, b + j, ldb, K, c + i * ldc + j, ldc);
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
// two, and a thread whose panels were misaligned took 1.7x as long for the same product.
template <typename T>
struct Buffer {
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T[], Free> data;
  explicit Buffer(int64_t n) {
    const size_t bytes = (static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(T) + 63) / 64 * 64;
    data.reset(static_cast<T*>(std::aligned_alloc(64, bytes)));
    TORCH_CHECK(data != nullptr, "Expected ", bytes, " bytes for the GRU kernel's buffers");
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

// ---- The team: torch's OpenMP threads (one thread in a build without OpenMP).
inline int64_t team_size(int64_t H) {
  // A slice narrower than 16 units spends more at the barrier than it saves.
  return std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), H / 16));
}

template <typename Body>
void on_team(int64_t wanted, const Body& body) {
#ifdef _OPENMP
  if (wanted > 1) {
#pragma omp parallel num_threads(static_cast<int>(wanted))
    body(omp_get_thread_num(), omp_get_num_threads());
    return;
  }
#endif
  (void)wanted;
  body(0, 1);
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

// One row of one step's gates and new state for `w` units (gi: the step's input
// projection; gh: the thread's product W_hh h):
//   r = s(gi_r + gh_r + b_r), z = s(gi_z + gh_z + b_z), b_r and b_z the two biases summed,
//   n = tanh(gi_n + b_in + r (gh_n + b_hn)) = 2 s(2a) - 1, h_next = n + z (h - n).
// Every array is its own restrict argument, so the loop vectorizes.
template <typename T>
inline void gate_row(const T* __restrict__ gi_r, const T* __restrict__ gi_z,
                     const T* __restrict__ gi_n, const T* __restrict__ gh_r,
                     const T* __restrict__ gh_z, const T* __restrict__ gh_n,
                     const T* __restrict__ b_r, const T* __restrict__ b_z,
                     const T* __restrict__ b_in, const T* __restrict__ b_hn,
                     const T* __restrict__ h, T* __restrict__ r, T* __restrict__ z,
                     T* __restrict__ n, T* __restrict__ hn_out, T* __restrict__ h_next,
                     int64_t w) {
  for (int64_t j = 0; j < w; ++j) {
    const T rj = sigmoid(gi_r[j] + gh_r[j] + b_r[j]);
    const T zj = sigmoid(gi_z[j] + gh_z[j] + b_z[j]);
    const T hn = gh_n[j] + b_hn[j];
    const T nj = T(2) * sigmoid(T(2) * (gi_n[j] + b_in[j] + rj * hn)) - T(1);
    r[j] = rj;
    z[j] = zj;
    n[j] = nj;
    hn_out[j] = hn;
    h_next[j] = nj + zj * (h[j] - nj);
  }
}

// One row of one step's gate gradients for `w` units. d: dL/dh_t. Writes dr, dz, dn =
// dL/d(W_hh h + b_hh) (dL/d(W_ih x + b_ih) is the same with da as its n part),
// da = dL/d(W_in x + b_in), base = dL/dh_{t-1} without the product through W_hh, plus
// `carry` (the output gradient at step t-1, or null), and adds the bias gradients.
template <typename T>
inline void grad_row(const T* __restrict__ r, const T* __restrict__ z, const T* __restrict__ n,
                     const T* __restrict__ ghn, const T* __restrict__ h_prev,
                     const T* __restrict__ d, const T* __restrict__ carry, T* __restrict__ dr,
                     T* __restrict__ dz, T* __restrict__ dn, T* __restrict__ da_out,
                     T* __restrict__ base, T* __restrict__ db_r, T* __restrict__ db_z,
                     T* __restrict__ db_hn, T* __restrict__ db_in, int64_t w) {
  for (int64_t j = 0; j < w; ++j) {
    const T dh = d[j];
    const T zj = z[j], nj = n[j], rj = r[j];
    const T da = dh * (T(1) - zj) * (T(1) - nj * nj);
    const T dpz = dh * (h_prev[j] - nj) * zj * (T(1) - zj);
    const T dpr = da * ghn[j] * rj * (T(1) - rj);
    dr[j] = dpr;
    dz[j] = dpz;
    dn[j] = da * rj;
    da_out[j] = da;
    base[j] = dh * zj;
    db_r[j] += dpr;
    db_z[j] += dpz;
    db_hn[j] += da * rj;
    db_in[j] += da;
  }
  if (carry != nullptr) {
    for (int64_t j = 0; j < w; ++j) base[j] += carry[j];
  }
}

// The forward recurrence on the team. bias holds b_r, b_z, b_in, b_hn (4H). With
// keep=false (inference) g and ghn hold one step, reused.
template <typename T>
void forward_steps(const T* gi, const T* bias, const T* w_hh, T* hs, T* g, T* ghn,
                   int64_t steps, int64_t B, int64_t H, bool keep) {
  constexpr int P = kPanel<T>;
  on_team(team_size(H), [&](int index, int threads) {
    const Slice s = slice_of(index, threads, H);
    const int64_t u = s.begin, w = s.width;
    std::vector<int64_t> cols;  // this thread's columns of W_hh^T: its r, z and n units
    for (int64_t gate = 0; gate < 3; ++gate)
      for (int64_t j = 0; j < w; ++j) cols.push_back(gate * H + u + j);
    const Buffer<T> packed =
        pack_panels<T>(H, cols, [&](int64_t k, int64_t col) { return w_hh[col * H + k]; });
    const int64_t panels = (3 * w + P - 1) / P, ldc = panels * P;
    Buffer<T> c(B * ldc);
    for (int64_t t = 0; t < steps; ++t) {
      if (w > 0) {
        const T* h = hs + t * B * H;
        small_product(h, H, packed.get(), H, panels, c.get(), ldc, B);
        const int64_t kt = keep ? t : 0;
        for (int64_t b = 0; b < B; ++b) {
          const T* gi_b = gi + (t * B + b) * 3 * H + u;
          const T* c_b = c.get() + b * ldc;
          T* g_b = g + (kt * B + b) * 3 * H + u;
          gate_row(gi_b, gi_b + H, gi_b + 2 * H, c_b, c_b + w, c_b + 2 * w, bias + u,
                   bias + H + u, bias + 2 * H + u, bias + 3 * H + u, h + b * H + u, g_b,
                   g_b + H, g_b + 2 * H, ghn + (kt * B + b) * H + u,
                   hs + (t + 1) * B * H + b * H + u, w);
        }
      }
      meet();  // the next step's product reads every thread's units of the new state
    }
  });
}

// The backward recurrence on the team: dh holds dL/dh_T on entry and dL/dh_0 on return;
// d_out (B, T, H) or null. Each thread owns units: their gate gradients need only their
// part of dh, and their part of the next dh needs every thread's gate gradients (a
// barrier between the two).
template <typename T>
void backward_steps(const T* g, const T* ghn, const T* hs, const T* xt, const T* d_out,
                    const T* w_hh, T* dh, T* base, T* dgh, T* da, T* dw_ih, T* dw_hh, T* db_hh,
                    T* db_in, int64_t steps, int64_t B, int64_t H, int64_t I) {
  constexpr int P = kPanel<T>;
  on_team(team_size(H), [&](int index, int threads) {
    const Slice s = slice_of(index, threads, H);
    const int64_t u = s.begin, w = s.width;
    std::vector<int64_t> cols;  // this thread's columns of W_hh (3H x H): its units
    for (int64_t j = 0; j < w; ++j) cols.push_back(u + j);
    const Buffer<T> packed =
        pack_panels<T>(3 * H, cols, [&](int64_t k, int64_t col) { return w_hh[k * H + col]; });
    const int64_t panels = (w + P - 1) / P, ldc = panels * P;
    Buffer<T> c(B * ldc);
    for (int64_t t = steps - 1; t >= 0; --t) {
      if (w > 0) {
        for (int64_t b = 0; b < B; ++b) {
          const T* g_b = g + (t * B + b) * 3 * H + u;
          T* dg_b = dgh + (t * B + b) * 3 * H + u;
          const T* carry = (d_out != nullptr && t > 0) ? d_out + (b * steps + t - 1) * H + u
                                                       : nullptr;
          grad_row(g_b, g_b + H, g_b + 2 * H, ghn + (t * B + b) * H + u,
                   hs + (t * B + b) * H + u, dh + b * H + u, carry, dg_b, dg_b + H,
                   dg_b + 2 * H, da + (t * B + b) * H + u, base + b * H + u, db_hh + u,
                   db_hh + H + u, db_hh + 2 * H + u, db_in + u, w);
        }
      }
      meet();  // the product below reads every thread's gate gradients
      if (w > 0) {
        // The thread's rows of the weight gradients (its units' r, z and n rows), from
        // its own gate gradients of the step: dW_hh += dg^T h_{t-1}, dW_ih += dgi^T x_t
        // (dgi: dr, dz and da).
        const T* h_prev = hs + t * B * H;
        const T* x_t = xt + t * B * I;
        for (int64_t gate = 0; gate < 3; ++gate) {
          const T* dg = dgh + t * B * 3 * H + gate * H + u;
          const int64_t row = gate * H + u;
          accumulate_product_t(dg, 3 * H, w, h_prev, H, H, B, dw_hh + row * H, H);
          const T* dgi = gate < 2 ? dg : da + t * B * H + u;
          accumulate_product_t(dgi, gate < 2 ? 3 * H : H, w, x_t, I, I, B, dw_ih + row * I, I);
        }
        small_product(dgh + t * B * 3 * H, 3 * H, packed.get(), 3 * H, panels, c.get(), ldc, B);
        for (int64_t b = 0; b < B; ++b) {
          const T* c_b = c.get() + b * ldc;
          const T* base_b = base + b * H + u;
          T* dh_b = dh + b * H + u;
          for (int64_t j = 0; j < w; ++j) dh_b[j] = base_b[j] + c_b[j];
        }
      }
    }
  });
}

// Returns (hs, g, ghn, xt). With keep=false (inference) g and ghn hold one step.
std::tuple<Tensor, Tensor, Tensor, Tensor> forward(const Tensor& x_in, const Tensor& h0,
                                                   const Tensor& w_ih_in, const Tensor& w_hh_in,
                                                   const c10::optional<Tensor>& b_ih,
                                                   const c10::optional<Tensor>& b_hh, bool keep) {
  check(x_in, h0, w_ih_in, w_hh_in);
  TORCH_CHECK(b_ih.has_value() == b_hh.has_value(), "Expected both biases or neither");
  const int64_t B = x_in.size(0), T = x_in.size(1), H = w_hh_in.size(1);
  Tensor xt = x_in.transpose(0, 1).contiguous();
  Tensor w_ih = w_ih_in.contiguous(), w_hh = w_hh_in.contiguous();
  Tensor gi = input_projection(xt, w_ih);
  // r and z: b_ih + b_hh; n: b_in, then b_hn (4H values, zeros without biases).
  Tensor bias = at::zeros({4 * H}, x_in.options());
  if (b_ih.has_value()) {
    bias.narrow(0, 0, 3 * H).copy_(*b_ih);
    bias.narrow(0, 0, 2 * H).add_(b_hh->narrow(0, 0, 2 * H));
    bias.narrow(0, 3 * H, H).copy_(b_hh->narrow(0, 2 * H, H));
  }
  Tensor hs = at::empty({T + 1, B, H}, x_in.options());
  hs[0].copy_(h0);
  const int64_t kept = keep ? T : 1;
  Tensor g = at::empty({kept, B, 3 * H}, x_in.options());
  Tensor ghn = at::empty({kept, B, H}, x_in.options());
  AT_DISPATCH_FLOATING_TYPES(x_in.scalar_type(), "lamina_gru_forward", [&] {
    forward_steps<scalar_t>(gi.const_data_ptr<scalar_t>(), bias.const_data_ptr<scalar_t>(),
                            w_hh.const_data_ptr<scalar_t>(), hs.data_ptr<scalar_t>(),
                            g.data_ptr<scalar_t>(), ghn.data_ptr<scalar_t>(), T, B, H, keep);
  });
  return {hs, g, ghn, xt};
}

// Gradients (dx, dh0, dw_ih, dw_hh, db_ih, db_hh) from the output sequence's gradient
// (B, T, H) and the final state's (B, H); either may be missing.
std::tuple<Tensor, Tensor, Tensor, Tensor, Tensor, Tensor> backward(
    const Tensor& hs_in, const Tensor& g_in, const Tensor& ghn_in, const Tensor& xt_in,
    const Tensor& w_ih, const Tensor& w_hh_in, const c10::optional<Tensor>& d_out_in,
    const c10::optional<Tensor>& d_last, bool need_dx, bool has_bias) {
  // The forward's tensors (contiguous already; a caller of the operator may pass others).
  const Tensor hs = hs_in.contiguous(), g = g_in.contiguous(), ghn = ghn_in.contiguous();
  const Tensor xt = xt_in.contiguous();
  const int64_t T = xt.size(0), B = xt.size(1), I = xt.size(2), H = hs.size(2);
  Tensor w_hh = w_hh_in.contiguous();
  Tensor d_out;
  if (d_out_in.has_value()) d_out = d_out_in->contiguous();  // (B, T, H)
  Tensor dh = d_last.has_value() ? d_last->contiguous().clone() : at::zeros({B, H}, hs.options());
  if (d_out.defined() && T > 0) dh.add_(d_out.select(1, T - 1));
  Tensor base = at::empty({B, H}, hs.options());
  Tensor dgh = at::empty({T, B, 3 * H}, hs.options());
  Tensor da = at::empty({T, B, H}, hs.options());
  Tensor db_hh = at::zeros({3 * H}, hs.options());
  Tensor db_in = at::zeros({H}, hs.options());
  Tensor dw_hh = at::zeros({3 * H, H}, hs.options());
  Tensor dw_ih = at::zeros({3 * H, I}, hs.options());
  AT_DISPATCH_FLOATING_TYPES(hs.scalar_type(), "lamina_gru_backward", [&] {
    backward_steps<scalar_t>(
        g.const_data_ptr<scalar_t>(), ghn.const_data_ptr<scalar_t>(),
        hs.const_data_ptr<scalar_t>(), xt.const_data_ptr<scalar_t>(),
        d_out.defined() ? d_out.const_data_ptr<scalar_t>() : nullptr,
        w_hh.const_data_ptr<scalar_t>(), dh.data_ptr<scalar_t>(), base.data_ptr<scalar_t>(),
        dgh.data_ptr<scalar_t>(), da.data_ptr<scalar_t>(), dw_ih.data_ptr<scalar_t>(),
        dw_hh.data_ptr<scalar_t>(), db_hh.data_ptr<scalar_t>(), db_in.data_ptr<scalar_t>(), T,
        B, H, I);
  });
  Tensor dgh_rz = dgh.view({T * B, 3 * H}).narrow(1, 0, 2 * H);
  Tensor da2 = da.view({T * B, H});
  // Gradients nobody needs come back empty (an operator returns defined tensors).
  Tensor dx = at::empty({0}, hs.options());
  if (need_dx) {
    Tensor w = w_ih.contiguous();
    dx = at::mm(dgh_rz, w.narrow(0, 0, 2 * H)).addmm_(da2, w.narrow(0, 2 * H, H));
    dx = dx.view({T, B, I}).transpose(0, 1);
  }
  Tensor db_ih = at::empty({0}, hs.options());
  if (has_bias) {
    db_ih = at::cat({db_hh.narrow(0, 0, 2 * H), db_in});
  } else {
    db_hh = at::empty({0}, hs.options());
  }
  return {dx, dh, dw_ih, dw_hh, db_ih, db_hh};
}

}  // namespace

TORCH_LIBRARY(lamina_native_gru, m) {
  m.def(
      "forward(Tensor x, Tensor h0, Tensor w_ih, Tensor w_hh, Tensor? b_ih, Tensor? b_hh, "
      "bool keep) -> (Tensor, Tensor, Tensor, Tensor)");
  m.def(
      "backward(Tensor hs, Tensor g, Tensor ghn, Tensor xt, Tensor w_ih, Tensor w_hh, "
      "Tensor? d_out, Tensor? d_last, bool need_dx, bool has_bias) "
      "-> (Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(lamina_native_gru, CPU, m) {
  m.impl("forward", &forward);
  m.impl("backward", &backward);
}
