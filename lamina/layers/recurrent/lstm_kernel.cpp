// An LSTM (PyTorch's and Keras's gate order i, f, g, o; sigmoid gates, tanh cell input and
// output) over a whole sequence on the CPU, forward and backward, for `native_lstm.py`
// (built by `lamina/runtime/native_build.py`).
//
// torch.lstm on the CPU runs oneDNN's RNN primitive, each step's product a parallel
// region of its own across the intra-op threads. Here the recurrence runs on the team of
// `recurrent_team.h`: per step each thread's columns of W_hh h and W_ih x, its units'
// gates, cell and new state, one barrier; the backward sums each thread's rows of the
// weight gradients step by step. Only dx (when the input needs it) is one ATen mm after.
//
// Layouts (T steps, B samples, H units, I features):
//   xt   (T, B, I)    the input, time major
//   hs   (T+1, B, H)  hs[0] = h0, hs[t+1] = the output after step t
//   cs   (T+1, B, H)  the cell state likewise
//   g    (T, B, 4H)   per row: i, f, o (after the sigmoid), g (after the tanh), in the
//                     order i, f, g, o
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

template <typename T>
inline T tanh_of(T x) {
  return T(2) * sigmoid(T(2) * x) - T(1);
}

// Four arrays, one per gate (i, f, g, o), each its own restrict pointer so the loops
// below vectorize (one pointer with offsets of H would not).
template <typename T>
struct Gates {
  T* __restrict__ i;
  T* __restrict__ f;
  T* __restrict__ g;
  T* __restrict__ o;
};
template <typename T>
inline Gates<T> gates_at(T* row, int64_t stride) {
  return {row, row + stride, row + 2 * stride, row + 3 * stride};
}

// One row of one step for `w` units (gi: the step's input projection; gh: the thread's
// product W_hh h; bias: b_ih + b_hh):
//   i, f, o = s(gi + gh + b), g = tanh(gi + gh + b), c' = f c + i g, h' = o tanh(c').
template <typename T>
inline void cell_row(Gates<const T> gi, Gates<const T> gh, Gates<const T> bias,
                     const T* __restrict__ c, Gates<T> out, T* __restrict__ c_next,
                     T* __restrict__ h_next, int64_t w) {
  for (int64_t j = 0; j < w; ++j) {
    const T i = sigmoid(gi.i[j] + gh.i[j] + bias.i[j]);
    const T f = sigmoid(gi.f[j] + gh.f[j] + bias.f[j]);
    const T g = tanh_of(gi.g[j] + gh.g[j] + bias.g[j]);
    const T o = sigmoid(gi.o[j] + gh.o[j] + bias.o[j]);
    const T cj = f * c[j] + i * g;
    out.i[j] = i;
    out.f[j] = f;
    out.g[j] = g;
    out.o[j] = o;
    c_next[j] = cj;
    h_next[j] = o * tanh_of(cj);
  }
}

// One row of one step's gradients for `w` units. d: dL/dh_t; dc: dL/dc_t on entry,
// dL/dc_{t-1} on return. Writes the pre-activation gradients (i, f, g, o) to dgates,
// base = the output gradient at step t-1 (`carry`, or zero), to which the product
// through W_hh is added, and adds the bias gradients.
template <typename T>
inline void grad_row(Gates<const T> gates, const T* __restrict__ c,
                     const T* __restrict__ c_prev, const T* __restrict__ d, T* __restrict__ dc,
                     Gates<T> dgates, Gates<T> db, int64_t w) {
  for (int64_t j = 0; j < w; ++j) {
    const T i = gates.i[j], f = gates.f[j], g = gates.g[j], o = gates.o[j];
    const T tc = tanh_of(c[j]);
    const T dcj = dc[j] + d[j] * o * (T(1) - tc * tc);
    const T di = dcj * g * i * (T(1) - i);
    const T df = dcj * c_prev[j] * f * (T(1) - f);
    const T dg = dcj * i * (T(1) - g * g);
    const T dout = d[j] * tc * o * (T(1) - o);
    dgates.i[j] = di;
    dgates.f[j] = df;
    dgates.g[j] = dg;
    dgates.o[j] = dout;
    db.i[j] += di;
    db.f[j] += df;
    db.g[j] += dg;
    db.o[j] += dout;
    dc[j] = dcj * f;
  }
}

// The forward recurrence on the team. With keep=false (inference) g holds one step.
template <typename T>
void forward_steps(const T* xt, const T* w_ih, const T* bias, const T* w_hh, T* hs, T* cs,
                   T* g, int64_t steps, int64_t B, int64_t H, int64_t I, bool keep) {
  const auto prepare = [&](int index, int threads) {
    const Slice s = slice_of(index, threads, H);
    return StepProducts<T>(w_hh, w_ih, gate_columns(4, H, s.begin, s.width), H, I, B);
  };
  on_team(team_size(H), prepare, [&](StepProducts<T>& products, int index, int threads) {
    const Slice s = slice_of(index, threads, H);
    const int64_t u = s.begin, w = s.width;
    const int64_t ldc = products.ldc;
    for (int64_t t = 0; t < steps; ++t) {
      if (w > 0) {
        products.run(hs + t * B * H, xt + t * B * I, B, H, I);
        const int64_t kt = keep ? t : 0;
        for (int64_t b = 0; b < B; ++b) {
          const int64_t row = t * B + b;
          cell_row<T>(gates_at<const T>(products.gi.get() + b * ldc, w),
                      gates_at<const T>(products.gh.get() + b * ldc, w), gates_at(bias + u, H),
                      cs + row * H + u, gates_at(g + (kt * B + b) * 4 * H + u, H),
                      cs + (row + B) * H + u, hs + (row + B) * H + u, w);
        }
      }
      meet();  // the next step's product reads every thread's units of the new state
    }
  });
}

// The backward recurrence on the team: dh and dc hold dL/dh_T and dL/dc_T on entry and
// dL/dh_0, dL/dc_0 on return; d_out (B, T, H) or null. A thread's gate gradients need
// only its units of dh and dc; its units of the next dh need every thread's gate
// gradients (a barrier between the two).
template <typename T>
void backward_steps(const T* g, const T* cs, const T* hs, const T* xt, const T* d_out,
                    const T* w_hh, bool keep_all, T* dh, T* dc, T* base, T* dgates, T* dw_ih,
                    T* dw_hh, T* db, int64_t steps, int64_t B, int64_t H, int64_t I) {
  const auto prepare = [&](int index, int threads) {
    const Slice s = slice_of(index, threads, H);
    return StateGradient<T>(w_hh, 4, H, s.begin, s.width, B);
  };
  on_team(team_size(H), prepare, [&](StateGradient<T>& through_w_hh, int index, int threads) {
    const Slice s = slice_of(index, threads, H);
    const int64_t u = s.begin, w = s.width;
    for (int64_t t = steps - 1; t >= 0; --t) {
      const int64_t slot = keep_all ? t : t % 2;  // where the step's gate gradients go
      if (w > 0) {
        for (int64_t b = 0; b < B; ++b) {
          const int64_t row = t * B + b;
          grad_row<T>(gates_at(g + row * 4 * H + u, H), cs + (row + B) * H + u,
                      cs + row * H + u, dh + b * H + u, dc + b * H + u,
                      gates_at(dgates + (slot * B + b) * 4 * H + u, H), gates_at(db + u, H), w);
          // base: the output gradient at step t-1, to which the product adds dh_{t-1}
          T* base_b = base + b * H + u;
          if (d_out != nullptr && t > 0) {
            std::copy_n(d_out + (b * steps + t - 1) * H + u, w, base_b);
          } else {
            std::fill_n(base_b, w, T(0));
          }
        }
      }
      meet();  // the product below reads every thread's gate gradients
      if (w > 0) {
        // The thread's rows of the weight gradients from its own gate gradients of the
        // step: dW_hh += dgates^T h_{t-1}, dW_ih += dgates^T x_t.
        for (int64_t gate = 0; gate < 4; ++gate) {
          const T* dg = dgates + slot * B * 4 * H + gate * H + u;
          const int64_t row = gate * H + u;
          accumulate_product_t(dg, 4 * H, w, hs + t * B * H, H, H, B, dw_hh + row * H, H);
          accumulate_product_t(dg, 4 * H, w, xt + t * B * I, I, I, B, dw_ih + row * I, I);
        }
        through_w_hh.run(dgates + slot * B * 4 * H, base, dh, B);
      }
    }
  });
}

// Returns (hs, cs, g, xt). With keep=false (inference) g holds one step.
std::tuple<Tensor, Tensor, Tensor, Tensor> forward(const Tensor& x_in, const Tensor& h0,
                                                   const Tensor& c0, const Tensor& w_ih_in,
                                                   const Tensor& w_hh_in,
                                                   const c10::optional<Tensor>& b_ih,
                                                   const c10::optional<Tensor>& b_hh, bool keep) {
  check_shapes(x_in, {h0, c0}, w_ih_in, w_hh_in, 4);
  TORCH_CHECK(b_ih.has_value() == b_hh.has_value(), "Expected both biases or neither");
  const int64_t B = x_in.size(0), T = x_in.size(1), H = w_hh_in.size(1), I = x_in.size(2);
  Tensor xt = x_in.transpose(0, 1).contiguous();
  Tensor w_ih = w_ih_in.contiguous(), w_hh = w_hh_in.contiguous();
  Tensor bias =
      b_ih.has_value() ? (*b_ih + *b_hh).contiguous() : at::zeros({4 * H}, x_in.options());
  Tensor hs = at::empty({T + 1, B, H}, x_in.options());
  Tensor cs = at::empty({T + 1, B, H}, x_in.options());
  hs[0].copy_(h0);
  cs[0].copy_(c0);
  Tensor g = at::empty({keep ? T : 1, B, 4 * H}, x_in.options());
  AT_DISPATCH_FLOATING_TYPES(x_in.scalar_type(), "lamina_lstm_forward", [&] {
    forward_steps<scalar_t>(xt.const_data_ptr<scalar_t>(), w_ih.const_data_ptr<scalar_t>(),
                            bias.const_data_ptr<scalar_t>(), w_hh.const_data_ptr<scalar_t>(),
                            hs.data_ptr<scalar_t>(), cs.data_ptr<scalar_t>(),
                            g.data_ptr<scalar_t>(), T, B, H, I, keep);
  });
  return {hs, cs, g, xt};
}

// Gradients (dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh) from the output sequence's
// gradient (B, T, H) and the final states'; any may be missing.
std::tuple<Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor> backward(
    const Tensor& hs_in, const Tensor& cs_in, const Tensor& g_in, const Tensor& xt_in,
    const Tensor& w_ih, const Tensor& w_hh_in, const c10::optional<Tensor>& d_out_in,
    const c10::optional<Tensor>& d_h, const c10::optional<Tensor>& d_c, bool need_dx,
    bool has_bias) {
  // The forward's tensors (contiguous already; a caller of the operator may pass others).
  const Tensor hs = hs_in.contiguous(), cs = cs_in.contiguous(), g = g_in.contiguous();
  const Tensor xt = xt_in.contiguous();
  const int64_t T = xt.size(0), B = xt.size(1), I = xt.size(2), H = hs.size(2);
  Tensor w_hh = w_hh_in.contiguous();
  Tensor d_out;
  if (d_out_in.has_value()) d_out = d_out_in->contiguous();  // (B, T, H)
  Tensor dh = d_h.has_value() ? d_h->contiguous().clone() : at::zeros({B, H}, hs.options());
  if (d_out.defined() && T > 0) dh.add_(d_out.select(1, T - 1));
  Tensor dc = d_c.has_value() ? d_c->contiguous().clone() : at::zeros({B, H}, hs.options());
  Tensor base = at::empty({B, H}, hs.options());
  // The gate gradients of every step when dx needs them after the loop, else two steps'
  // (the loop reads a step's only until the next barrier but one).
  Tensor dgates = at::empty({need_dx ? T : std::min<int64_t>(T, 2), B, 4 * H}, hs.options());
  Tensor db = at::zeros({4 * H}, hs.options());
  Tensor dw_hh = at::zeros({4 * H, H}, hs.options());
  Tensor dw_ih = at::zeros({4 * H, I}, hs.options());
  AT_DISPATCH_FLOATING_TYPES(hs.scalar_type(), "lamina_lstm_backward", [&] {
    backward_steps<scalar_t>(
        g.const_data_ptr<scalar_t>(), cs.const_data_ptr<scalar_t>(),
        hs.const_data_ptr<scalar_t>(), xt.const_data_ptr<scalar_t>(),
        d_out.defined() ? d_out.const_data_ptr<scalar_t>() : nullptr,
        w_hh.const_data_ptr<scalar_t>(), need_dx, dh.data_ptr<scalar_t>(),
        dc.data_ptr<scalar_t>(),
        base.data_ptr<scalar_t>(), dgates.data_ptr<scalar_t>(), dw_ih.data_ptr<scalar_t>(),
        dw_hh.data_ptr<scalar_t>(), db.data_ptr<scalar_t>(), T, B, H, I);
  });
  // Gradients nobody needs come back empty (an operator returns defined tensors).
  Tensor dx = at::empty({0}, hs.options());
  if (need_dx) {
    dx = at::mm(dgates.view({T * B, 4 * H}), w_ih.contiguous()).view({T, B, I}).transpose(0, 1);
  }
  Tensor db_ih = at::empty({0}, hs.options()), db_hh = at::empty({0}, hs.options());
  if (has_bias) {
    db_ih = db;
    db_hh = db.clone();
  }
  return {dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh};
}

}  // namespace

TORCH_LIBRARY(lamina_native_lstm, m) {
  m.def(
      "forward(Tensor x, Tensor h0, Tensor c0, Tensor w_ih, Tensor w_hh, Tensor? b_ih, "
      "Tensor? b_hh, bool keep) -> (Tensor, Tensor, Tensor, Tensor)");
  m.def(
      "backward(Tensor hs, Tensor cs, Tensor g, Tensor xt, Tensor w_ih, Tensor w_hh, "
      "Tensor? d_out, Tensor? d_h, Tensor? d_c, bool need_dx, bool has_bias) "
      "-> (Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)");
}

TORCH_LIBRARY_IMPL(lamina_native_lstm, CPU, m) {
  m.impl("forward", &forward);
  m.impl("backward", &backward);
}
