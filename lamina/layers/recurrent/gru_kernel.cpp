// A GRU (reset_after, PyTorch's gate order r, z, n) over a whole sequence on the CPU,
// forward and backward, for `native_gru.py` (built by `lamina/runtime/native_build.py`).
//
// torch.gru on the CPU records about fifteen autograd nodes per time step and runs its
// gate arithmetic as separate ATen kernels. Here the recurrence runs on the team of
// `recurrent_team.h`: per step each thread's columns of W_hh h and W_ih x, its units'
// gates and new state, one barrier; the backward sums each thread's rows of the weight
// gradients step by step. Only dx (when the input needs it) is one ATen mm afterwards.
//
// Layouts (T steps, B samples, H units, I features):
//   xt   (T, B, I)    the input, time major
//   hs   (T+1, B, H)  hs[0] = h0, hs[t+1] = the state after step t
//   g    (T, B, 3H)   per row: r, z (after the sigmoid), n (after the tanh)
//   ghn  (T, B, H)    W_hn h + b_hn of each step (the backward needs it)
#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <torch/library.h>

#include <tuple>
#include <utility>
#include <vector>

#include "recurrent_team.h"

namespace {

using at::Tensor;
using namespace lamina_native;

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
void forward_steps(const T* xt, const T* w_ih, const T* bias, const T* w_hh, T* hs, T* g,
                   T* ghn, int64_t steps, int64_t B, int64_t H, int64_t I, bool keep) {
  const auto prepare = [&](int index, int threads) {
    const Slice s = slice_of(index, threads, H);
    return StepProducts<T>(w_hh, w_ih, gate_columns(3, H, s.begin, s.width), H, I, B);
  };
  on_team(team_size(H), prepare, [&](StepProducts<T>& products, int index, int threads) {
    const Slice s = slice_of(index, threads, H);
    const int64_t u = s.begin, w = s.width;
    const int64_t ldc = products.ldc;
    for (int64_t t = 0; t < steps; ++t) {
      if (w > 0) {
        const T* h = hs + t * B * H;
        products.run(h, xt + t * B * I, B, H, I);
        const int64_t kt = keep ? t : 0;
        for (int64_t b = 0; b < B; ++b) {
          const T* gi_b = products.gi.get() + b * ldc;
          const T* gh_b = products.gh.get() + b * ldc;
          T* g_b = g + (kt * B + b) * 3 * H + u;
          gate_row(gi_b, gi_b + w, gi_b + 2 * w, gh_b, gh_b + w, gh_b + 2 * w, bias + u,
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
                    const T* w_hh, bool keep_all, T* dh, T* base, T* dgh, T* da, T* dw_ih,
                    T* dw_hh, T* db_hh, T* db_in, int64_t steps, int64_t B, int64_t H,
                    int64_t I) {
  const auto prepare = [&](int index, int threads) {
    const Slice s = slice_of(index, threads, H);
    return StateGradient<T>(w_hh, 3, H, s.begin, s.width, B);
  };
  on_team(team_size(H), prepare, [&](StateGradient<T>& through_w_hh, int index, int threads) {
    const Slice s = slice_of(index, threads, H);
    const int64_t u = s.begin, w = s.width;
    for (int64_t t = steps - 1; t >= 0; --t) {
      const int64_t slot = keep_all ? t : t % 2;  // where the step's gate gradients go
      if (w > 0) {
        for (int64_t b = 0; b < B; ++b) {
          const T* g_b = g + (t * B + b) * 3 * H + u;
          T* dg_b = dgh + (slot * B + b) * 3 * H + u;
          const T* carry = (d_out != nullptr && t > 0) ? d_out + (b * steps + t - 1) * H + u
                                                       : nullptr;
          grad_row(g_b, g_b + H, g_b + 2 * H, ghn + (t * B + b) * H + u,
                   hs + (t * B + b) * H + u, dh + b * H + u, carry, dg_b, dg_b + H,
                   dg_b + 2 * H, da + (slot * B + b) * H + u, base + b * H + u, db_hh + u,
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
          const T* dg = dgh + slot * B * 3 * H + gate * H + u;
          const int64_t row = gate * H + u;
          accumulate_product_t(dg, 3 * H, w, h_prev, H, H, B, dw_hh + row * H, H);
          const T* dgi = gate < 2 ? dg : da + slot * B * H + u;
          accumulate_product_t(dgi, gate < 2 ? 3 * H : H, w, x_t, I, I, B, dw_ih + row * I, I);
        }
        through_w_hh.run(dgh + slot * B * 3 * H, base, dh, B);
      }
    }
  });
}

// Returns (hs, g, ghn, xt). With keep=false (inference) g and ghn hold one step.
std::tuple<Tensor, Tensor, Tensor, Tensor> forward(const Tensor& x_in, const Tensor& h0,
                                                   const Tensor& w_ih_in, const Tensor& w_hh_in,
                                                   const c10::optional<Tensor>& b_ih,
                                                   const c10::optional<Tensor>& b_hh, bool keep) {
  check_shapes(x_in, {h0}, w_ih_in, w_hh_in, 3);
  TORCH_CHECK(b_ih.has_value() == b_hh.has_value(), "Expected both biases or neither");
  const int64_t B = x_in.size(0), T = x_in.size(1), H = w_hh_in.size(1), I = x_in.size(2);
  Tensor xt = x_in.transpose(0, 1).contiguous();
  Tensor w_ih = w_ih_in.contiguous(), w_hh = w_hh_in.contiguous();
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
    forward_steps<scalar_t>(xt.const_data_ptr<scalar_t>(), w_ih.const_data_ptr<scalar_t>(),
                            bias.const_data_ptr<scalar_t>(), w_hh.const_data_ptr<scalar_t>(),
                            hs.data_ptr<scalar_t>(), g.data_ptr<scalar_t>(),
                            ghn.data_ptr<scalar_t>(), T, B, H, I, keep);
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
  // The gate gradients of every step when dx needs them after the loop, else two steps'
  // (the loop reads a step's only until the next barrier but one).
  const int64_t slots = need_dx ? T : std::min<int64_t>(T, 2);
  Tensor dgh = at::empty({slots, B, 3 * H}, hs.options());
  Tensor da = at::empty({slots, B, H}, hs.options());
  Tensor db_hh = at::zeros({3 * H}, hs.options());
  Tensor db_in = at::zeros({H}, hs.options());
  Tensor dw_hh = at::zeros({3 * H, H}, hs.options());
  Tensor dw_ih = at::zeros({3 * H, I}, hs.options());
  AT_DISPATCH_FLOATING_TYPES(hs.scalar_type(), "lamina_gru_backward", [&] {
    backward_steps<scalar_t>(
        g.const_data_ptr<scalar_t>(), ghn.const_data_ptr<scalar_t>(),
        hs.const_data_ptr<scalar_t>(), xt.const_data_ptr<scalar_t>(),
        d_out.defined() ? d_out.const_data_ptr<scalar_t>() : nullptr,
        w_hh.const_data_ptr<scalar_t>(), need_dx, dh.data_ptr<scalar_t>(),
        base.data_ptr<scalar_t>(), dgh.data_ptr<scalar_t>(), da.data_ptr<scalar_t>(),
        dw_ih.data_ptr<scalar_t>(), dw_hh.data_ptr<scalar_t>(), db_hh.data_ptr<scalar_t>(),
        db_in.data_ptr<scalar_t>(), T, B, H, I);
  });
  // Gradients nobody needs come back empty (an operator returns defined tensors).
  Tensor dx = at::empty({0}, hs.options());
  if (need_dx) {
    Tensor dgh_rz = dgh.view({T * B, 3 * H}).narrow(1, 0, 2 * H);
    Tensor da2 = da.view({T * B, H});
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
