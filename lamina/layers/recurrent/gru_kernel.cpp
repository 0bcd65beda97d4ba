// A GRU (reset_after, PyTorch's gate order r, z, n) over a whole sequence on the CPU,
// forward and backward, for `native_gru.py` (built by `lamina/runtime/native_build.py`).
//
// torch.gru on the CPU records about fifteen autograd nodes per time step and runs its
// gate arithmetic as separate ATen kernels; here each step is one matrix product (ATen's
// mm, so the BLAS PyTorch uses) and one vectorized pass over the step's gates, and the
// backward takes its weight gradients as single products over all steps.
//
// Layouts (T steps, B samples, H units, I features):
//   xt  (T, B, I)    the input, time major
//   hs  (T+1, B, H)  hs[0] = h0, hs[t+1] = the state after step t
//   g   (T, B, 3H)   per row: r, z (after the sigmoid), n (after the tanh)
//   gh  (T, B, 3H)   W_hh h of each step; its n part holds W_hn h + b_hn (the backward
//                    needs it)
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

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
}

// gi = xt W_ih^T for all steps at once: (T, B, 3H). The biases are added in the gate
// passes, which read gi anyway (addmm would first write the broadcast bias, 10 MB).
Tensor input_projection(const Tensor& xt, const Tensor& w_ih) {
  const int64_t T = xt.size(0), B = xt.size(1), I = xt.size(2);
  return at::mm(xt.reshape({T * B, I}), w_ih.t()).view({T, B, w_ih.size(0)});
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

// One row of one step's gates and new state (gi: the step's input projection; gh: W_hh h,
// whose n part gets b_hn added and is kept for the backward):
//   r = s(gi_r + gh_r + b_r), z = s(gi_z + gh_z + b_z), b_r and b_z the two biases summed,
//   n = tanh(gi_n + b_in + r (gh_n + b_hn)) = 2 s(2a) - 1, h_next = n + z (h - n).
// Every array is its own restrict argument, so the loop vectorizes.
template <typename scalar_t>
inline void gate_row(const scalar_t* __restrict__ gi_r, const scalar_t* __restrict__ gi_z,
                     const scalar_t* __restrict__ gi_n, const scalar_t* __restrict__ gh_r,
                     const scalar_t* __restrict__ gh_z, scalar_t* __restrict__ gh_n,
                     const scalar_t* __restrict__ b_r, const scalar_t* __restrict__ b_z,
                     const scalar_t* __restrict__ b_in, const scalar_t* __restrict__ b_hn,
                     const scalar_t* __restrict__ h, scalar_t* __restrict__ r,
                     scalar_t* __restrict__ z, scalar_t* __restrict__ n,
                     scalar_t* __restrict__ h_next, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const scalar_t rj = sigmoid(gi_r[j] + gh_r[j] + b_r[j]);
    const scalar_t zj = sigmoid(gi_z[j] + gh_z[j] + b_z[j]);
    const scalar_t hn = gh_n[j] + b_hn[j];
    const scalar_t nj =
        scalar_t(2) * sigmoid(scalar_t(2) * (gi_n[j] + b_in[j] + rj * hn)) - scalar_t(1);
    r[j] = rj;
    z[j] = zj;
    n[j] = nj;
    gh_n[j] = hn;
    h_next[j] = nj + zj * (h[j] - nj);
  }
}

// One step over the batch: g (B, 3H) gets r, z, n; bias holds b_r, b_z, b_in, b_hn (4H).
template <typename scalar_t>
void gate_step(const scalar_t* gi, scalar_t* gh, const scalar_t* bias, const scalar_t* h,
               scalar_t* g, scalar_t* h_next, int64_t B, int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    const int64_t o = b * 3 * H;
    gate_row(gi + o, gi + o + H, gi + o + 2 * H, gh + o, gh + o + H, gh + o + 2 * H, bias,
             bias + H, bias + 2 * H, bias + 3 * H, h + b * H, g + o, g + o + H, g + o + 2 * H,
             h_next + b * H, H);
  }
}

// One step's gate gradients. d: dL/dh_t (B, H). Writes dgh = dL/d(W_hh h + b_hh) (B, 3H),
// da = dL/d(W_in x + b_in) (B, H; dL/d(W_ih x + b_ih) is dgh with da as its n part),
// base = dL/dh_{t-1} without the product through W_hh, plus `carry` (the output gradient
// at step t-1, or null), and adds the step's bias gradients to db_hh (3H) and db_in (H).
template <typename scalar_t>
void gate_grads(const scalar_t* __restrict__ g, const scalar_t* __restrict__ gh,
                const scalar_t* __restrict__ h_prev, const scalar_t* __restrict__ d,
                const scalar_t* __restrict__ carry, int64_t carry_stride,
                scalar_t* __restrict__ dgh, scalar_t* __restrict__ da_out,
                scalar_t* __restrict__ base, scalar_t* __restrict__ db_hh,
                scalar_t* __restrict__ db_in, int64_t B, int64_t H) {
  for (int64_t b = 0; b < B; ++b) {
    const scalar_t* r = g + b * 3 * H;
    const scalar_t* z = r + H;
    const scalar_t* n = z + H;
    const scalar_t* ghn = gh + b * 3 * H + 2 * H;
    const scalar_t* hp = h_prev + b * H;
    const scalar_t* d_b = d + b * H;
    scalar_t* dr = dgh + b * 3 * H;
    scalar_t* dz = dr + H;
    scalar_t* dn = dz + H;
    scalar_t* da_b = da_out + b * H;
    scalar_t* base_b = base + b * H;
    for (int64_t j = 0; j < H; ++j) {
      const scalar_t dh = d_b[j];
      const scalar_t zj = z[j], nj = n[j], rj = r[j];
      const scalar_t da = dh * (scalar_t(1) - zj) * (scalar_t(1) - nj * nj);
      const scalar_t dpz = dh * (hp[j] - nj) * zj * (scalar_t(1) - zj);
      const scalar_t dpr = da * ghn[j] * rj * (scalar_t(1) - rj);
      dr[j] = dpr;
      dz[j] = dpz;
      dn[j] = da * rj;
      da_b[j] = da;
      base_b[j] = dh * zj;
      db_hh[j] += dpr;
      db_hh[H + j] += dpz;
      db_hh[2 * H + j] += da * rj;
      db_in[j] += da;
    }
    if (carry != nullptr) {
      const scalar_t* c = carry + b * carry_stride;
      for (int64_t j = 0; j < H; ++j) base_b[j] += c[j];
    }
  }
}

// Returns (hs, g, gh, xt). With keep=false (inference) g and gh hold one step, reused.
std::tuple<Tensor, Tensor, Tensor, Tensor> forward(const Tensor& x_in, const Tensor& h0,
                                                   const Tensor& w_ih_in, const Tensor& w_hh_in,
                                                   const c10::optional<Tensor>& b_ih,
                                                   const c10::optional<Tensor>& b_hh, bool keep) {
  check(x_in, h0, w_ih_in, w_hh_in);
  TORCH_CHECK(b_ih.has_value() == b_hh.has_value(), "Expected both biases or neither");
  const int64_t B = x_in.size(0), T = x_in.size(1), H = w_hh_in.size(1);
  Tensor xt = x_in.transpose(0, 1).contiguous();
  Tensor w_ih = w_ih_in.contiguous(), w_hh_t = w_hh_in.t();
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
  Tensor gh = at::empty({kept, B, 3 * H}, x_in.options());
  // One product per step on the intra-op threads: cutting the batch in parts run side by
  // side (one thread each, no barrier per step) measured slower here, as a 32-row product
  // on one thread takes as long as the 64-row product on two.
  const int64_t step = B * 3 * H;
  for (int64_t t = 0; t < T; ++t) {
    const int64_t k = keep ? t : 0;
    Tensor g_t = g[k], gh_t = gh[k];
    at::mm_out(gh_t, hs[t], w_hh_t);
    AT_DISPATCH_FLOATING_TYPES(x_in.scalar_type(), "lamina_gru_forward", [&] {
      gate_step(gi.const_data_ptr<scalar_t>() + t * step, gh_t.data_ptr<scalar_t>(),
                bias.const_data_ptr<scalar_t>(), hs.const_data_ptr<scalar_t>() + t * B * H,
                g_t.data_ptr<scalar_t>(), hs.data_ptr<scalar_t>() + (t + 1) * B * H, B, H);
    });
  }
  return {hs, g, gh, xt};
}

// Gradients (dx, dh0, dw_ih, dw_hh, db_ih, db_hh) from the output sequence's gradient
// (B, T, H) and the final state's (B, H); either may be missing.
std::tuple<Tensor, Tensor, Tensor, Tensor, Tensor, Tensor> backward(
    const Tensor& hs, const Tensor& g, const Tensor& gh, const Tensor& xt, const Tensor& w_ih,
    const Tensor& w_hh_in, const c10::optional<Tensor>& d_out_in,
    const c10::optional<Tensor>& d_last, bool need_dx, bool has_bias) {
  const int64_t T = xt.size(0), B = xt.size(1), I = xt.size(2), H = hs.size(2);
  Tensor w_hh = w_hh_in.contiguous();
  Tensor d_out;
  if (d_out_in.has_value()) d_out = d_out_in->contiguous();  // (B, T, H)
  Tensor dh = d_last.has_value() ? d_last->contiguous().clone() : at::zeros({B, H}, hs.options());
  if (d_out.defined()) dh.add_(d_out.select(1, T - 1));
  Tensor base = at::empty({B, H}, hs.options());
  Tensor dgh = at::empty({T, B, 3 * H}, hs.options());
  Tensor da = at::empty({T, B, H}, hs.options());
  Tensor db_hh = at::zeros({3 * H}, hs.options());
  Tensor db_in = at::zeros({H}, hs.options());
  const int64_t step = B * 3 * H;
  for (int64_t t = T - 1; t >= 0; --t) {
    AT_DISPATCH_FLOATING_TYPES(hs.scalar_type(), "lamina_gru_backward", [&] {
      const scalar_t* carry = nullptr;
      if (d_out.defined() && t > 0) carry = d_out.const_data_ptr<scalar_t>() + (t - 1) * H;
      gate_grads(g.const_data_ptr<scalar_t>() + t * step,
                 gh.const_data_ptr<scalar_t>() + t * step,
                 hs.const_data_ptr<scalar_t>() + t * B * H, dh.const_data_ptr<scalar_t>(), carry,
                 T * H, dgh.data_ptr<scalar_t>() + t * step, da.data_ptr<scalar_t>() + t * B * H,
                 base.data_ptr<scalar_t>(), db_hh.data_ptr<scalar_t>(),
                 db_in.data_ptr<scalar_t>(), B, H);
    });
    base.addmm_(dgh[t], w_hh);  // + dL/dh_{t-1} through W_hh
    std::swap(dh, base);
  }
  Tensor dgh2 = dgh.view({T * B, 3 * H});
  Tensor dgh_rz = dgh2.narrow(1, 0, 2 * H);
  Tensor da2 = da.view({T * B, H});
  Tensor x2 = xt.reshape({T * B, I});
  Tensor dw_hh = at::mm(dgh2.t(), hs.narrow(0, 0, T).reshape({T * B, H}));
  Tensor dw_ih = at::cat({at::mm(dgh_rz.t(), x2), at::mm(da2.t(), x2)});
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
      "backward(Tensor hs, Tensor g, Tensor gh, Tensor xt, Tensor w_ih, Tensor w_hh, "
      "Tensor? d_out, Tensor? d_last, bool need_dx, bool has_bias) "
      "-> (Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(lamina_native_gru, CPU, m) {
  m.impl("forward", &forward);
  m.impl("backward", &backward);
}
