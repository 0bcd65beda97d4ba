"""Process-wide runtime settings, and the one place Lamina touches private torch names.

- `cpu.py`: `cpu_run_settings(device)`, the settings a fit/evaluate/predict call runs
  under on the CPU: `denormals.py` (flush denormal floats), `cpu_memory.py` (glibc keeps
  freed blocks for reuse), `cpu_threads.py` (threads capped at the CPU quota).
- `compiler.py`: Dynamo's recompile limit, Inductor's `compile_fx` for direct calls, the
  torch convolution base class; `vec_isa_cache.py` lets a process skip Inductor's
  vector-ISA probe once an earlier one on the same machine recorded its result.
- `step_library.py`: a captured train-step graph built into a shared library with
  AOTInductor, and loaded again (a later process skips compiling).
- `conv_relu.py`: oneDNN's convolution with a fused ReLU for eager CPU steps.
- `foreach.py`: torch's multi-tensor kernels for the optimizer update.
- `optim_without_dynamo.py`: build and step torch.optim optimizers without importing
  Dynamo (a second of every eager fit otherwise).

Every private name is reached through a function with a public fallback for a torch
that lacks it (tests/runtime/ removes each one and checks the fallback). Base module:
it imports only `lamina.config`.
"""
