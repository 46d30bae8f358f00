"""The steps of the training loops: the loss, the optimiser and the gradients of one step.

:func:`training_loss` is what a step minimises (:func:`grokutils.losses.objective`, which evaluation
reports, plus Part II's, Part III's and Part IV's changes);
:func:`make_optimizer` builds AdamW or SGD with PyTorch's fused kernels (:class:`FusedAdamW`);
:class:`Gradients` computes a step's loss and gradients, eagerly or with the model's forward compiled by
``torch.compile`` for long transformer runs (:func:`compile_wanted`). :mod:`grokutils.train` and
:mod:`grokutils.sweep` share them; :mod:`grokutils.train` re-exports the names it always had.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import warnings
from collections.abc import Callable, Iterable

import torch
from torch import nn
from torch.optim import optimizer as torch_optimizer

from grokutils import intervention, perturbation, regularisers
from grokutils.config import Config
from grokutils.losses import objective

#: Devices and dtypes of PyTorch's fused AdamW and SGD kernels (:func:`make_optimizer`).
FUSED_DEVICES, FUSED_DTYPES = ("cpu", "cuda", "mps"), (torch.float32, torch.float64, torch.float16, torch.bfloat16)

def training_loss(config: Config, model: nn.Module, x: torch.Tensor, y: torch.Tensor, step: int = 0,
                  noise_std: float = 0.0) -> torch.Tensor:
    """The loss one step minimises: :func:`objective` of ``model(x)``; with ``mixing_alpha > 0`` Part III's
    mixed loss ½ [L(head(h)) + L(head(h̃))] (:func:`grokutils.intervention.mixed_loss`); with one of Part II's
    strategies, the loss of step ``step`` with input noise ``noise_std`` or the abelian regulariser
    (:func:`grokutils.perturbation.strategy_loss`); with one of Part IV's regularisers, the loss minus λ·NCC or
    λ·κ of the batch until the step it is unplugged at (:func:`grokutils.regularisers.regularised_loss`)."""
    def loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return objective(config, logits, labels)

    if config.mixing_alpha > 0:
        return intervention.mixed_loss(loss, model, x, y, config.mixing_alpha)
    if perturbation.active(config):
        return perturbation.strategy_loss(config, loss, model, x, y, step, noise_std)
    if regularisers.active(config):
        return regularisers.regularised_loss(config, loss, model, x, y, step)
    return objective(config, model(x), y)


def warmup_factor(config: Config) -> Callable[[int], float]:
    """Linear warm-up over ``warmup_steps`` (Nanda et al. use 10), then constant."""
    return lambda step: min(1.0, (step + 1) / config.warmup_steps) if config.warmup_steps else 1.0


def make_optimizer(config: Config, parameters: Iterable[torch.Tensor],
                   weight_decay: float | None = None) -> torch.optim.Optimizer:
    """AdamW (decoupled decay) or SGD (L2 decay, optional momentum).

    Both use PyTorch's fused implementation (one kernel for all parameters) where the parameters' device
    has one (AdamW through :class:`FusedAdamW`), else the multi-tensor (``foreach``) one. PyTorch's default
    on the CPU is the per-parameter loop, about ten small kernels per parameter tensor per step (≈ 1.4 ms of
    a 5.8 ms MNIST-MLP step on the development VM); the fused step computes the same update, equal to float
    rounding (``tests/test_optimizer_path.py``)."""
    weight_decay = config.weight_decay if weight_decay is None else weight_decay
    parameters = list(parameters)
    fused = bool(parameters) and all(p.device.type in FUSED_DEVICES and p.dtype in FUSED_DTYPES for p in parameters)
    if config.optimizer == "adamw":
        build = functools.partial(FusedAdamW if fused else torch.optim.AdamW, parameters, lr=config.lr,
                                  betas=config.betas, weight_decay=weight_decay)
    else:
        build = functools.partial(torch.optim.SGD, parameters, lr=config.lr, momentum=config.momentum,
                                  weight_decay=weight_decay)
    if fused:
        try:
            return build(fused=True)
        except (RuntimeError, ValueError):  # a device or build without the fused kernel
            pass
    if config.optimizer == "adamw":
        build = functools.partial(torch.optim.AdamW, parameters, lr=config.lr, betas=config.betas,
                                  weight_decay=weight_decay)
    return build(foreach=True)


class FusedAdamW(torch.optim.AdamW):
    """``torch.optim.AdamW(fused=True)`` with a shorter road to the same kernel.

    ``step()`` of PyTorch's optimisers regroups the parameters by device and dtype, collects their state and
    runs hooks and profiler records at every call: ≈ 0.13 ms per step on the CPU, a tenth of Part I's MLP step.
    Once every parameter has its state, this step calls the fused kernel (``torch._fused_adamw_``) directly
    on the parameters of its one group, exactly as PyTorch's fused step does (the same numbers, bit for bit:
    ``tests/test_optimizer_path.py``). Anything else — several groups or devices, AMSGrad, a closure, a
    PyTorch without that kernel — takes PyTorch's own step. Step hooks run either way."""

    def __init__(self, params, fused: bool = True, **options):
        super().__init__(params, fused=fused, **options)
        self._direct = fused and hasattr(torch, "_fused_adamw_")
        self._uniform: bool | None = None  # one device and dtype for all parameters (checked once)

    def step(self, closure=None):
        # PyTorch wraps this method (Optimizer._patch_step_function) in the wrapper that runs step hooks; the
        # fallback below is AdamW's step without that wrapper, so hooks never run twice
        if closure is not None or not self._direct_step():
            return _adamw_step(self, closure)
        return None

    def fast_step(self) -> None:
        """:meth:`step` for the training loops, without PyTorch's wrapper (a profiler record and the hook
        lookups, ≈ 40 µs) unless hooks are registered."""
        if self._hooked() or not self._direct_step():
            self.step()
        self._opt_called = True  # what PyTorch's wrapper records for LR schedulers (they warn without it)

    def _direct_step(self) -> bool:
        """The fused update on the one group's parameters, as PyTorch's fused step does it; False (and nothing
        done) when that does not apply."""
        group = self.param_groups[0]
        params = group["params"]
        if self._uniform is None:
            self._uniform = len({(p.device, p.dtype) for p in params}) == 1
        states = [self.state.get(p) for p in params]
        if not self._direct or not self._uniform or len(self.param_groups) > 1 or group["amsgrad"] \
                or group["maximize"] or group["differentiable"] or torch.is_tensor(group["lr"]) \
                or not all(states) or any(p.grad is None for p in params):
            return False
        steps = [state["step"] for state in states]
        for count in steps:  # torch._foreach_add_(steps, 1) on the CPU is a slower loop over these scalars
            count.add_(1)
        beta1, beta2 = group["betas"]
        try:
            with torch.no_grad():
                torch._fused_adamw_(params, [p.grad for p in params], [state["exp_avg"] for state in states],
                                    [state["exp_avg_sq"] for state in states], [], steps, amsgrad=False,
                                    lr=group["lr"], beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"],
                                    eps=group["eps"], maximize=False, grad_scale=None, found_inf=None)
        except (RuntimeError, TypeError):  # another PyTorch's kernel signature: undo the count, use its step
            for count in steps:
                count.sub_(1)
            self._direct = False
            return False
        return True

    def _hooked(self) -> bool:
        """Whether step hooks are registered (on this optimiser or for all), which only PyTorch's wrapper runs."""
        return bool(getattr(self, "_optimizer_step_pre_hooks", None)
                    or getattr(self, "_optimizer_step_post_hooks", None)
                    or getattr(torch_optimizer, "_global_optimizer_pre_hooks", None)
                    or getattr(torch_optimizer, "_global_optimizer_post_hooks", None))


def optimizer_step(optimizer: torch.optim.Optimizer) -> None:
    """``optimizer.step()``, by :meth:`FusedAdamW.fast_step` where there is one."""
    fast = getattr(optimizer, "fast_step", None)
    if fast is not None:
        fast()
    else:
        optimizer.step()


def _adamw_step(optimizer: torch.optim.Optimizer, closure=None):
    """``torch.optim.AdamW.step`` without the hook-running wrapper (marked ``hooked``) that PyTorch puts around
    every optimiser class's step once one is built."""
    step = torch.optim.AdamW.step
    return (step.__wrapped__ if getattr(step, "hooked", False) else step)(optimizer, closure)


# ----------------------------------------------------------------- compiled step
#: ``GROKUTILS_COMPILE``: ``1`` compiles every run that can be compiled, ``0`` none; unset, the rule of
#: :func:`compile_wanted`.
COMPILE_ENV = "GROKUTILS_COMPILE"
#: Models whose training step ``torch.compile`` speeds up on the CPU (measured on 2 cores: Nanda et al.'s
#: transformer 29 -> 21 ms per step; Part I's MLP step is a few matrix products TorchInductor leaves as
#: they are, and it was no faster).
COMPILE_MODELS = ("transformer",)
#: Steps × samples per step from which a run compiles by default: a first compilation takes ~15 s on 2 cores
#: (later ones read TorchInductor's cache in a few seconds). The paper run of the quick-start has 14,000 ×
#: 3,831 = 54 M; Part III's and Part V's transformer runs 20,000 × 512 = 10 M (one thread: 36 -> 28 ms per step
#: for a group of 5, 22 -> 17 ms for one run; ``benchmarks/bench_regeneration.py``); the quick profiles 4–5 M,
#: and every test far less.
COMPILE_MIN_SAMPLE_STEPS = 8_000_000
#: TorchInductor settings while the step compiles: serial CPU kernels (the matrix products stay PyTorch's,
#: parallel). The gradient of the transformer's per-(token, position) table lookups is a scatter-add, which
#: parallel kernels do with atomic additions: on 2 cores the step took 47 ms with them, 21 ms without; and
#: parallel kernels spin-wait for a core when other processes share the machine (measured 346 ms per step).
INDUCTOR_SETTINGS = {"cpp.threads": 1}


def compile_wanted(config: Config, train_size: int, device: torch.device) -> bool:
    """Whether :func:`train` compiles the model's forward (and so its backward) with ``torch.compile``:
    ``$GROKUTILS_COMPILE`` if set (``0``/``1``), else for the models of :data:`COMPILE_MODELS` on runs of at
    least :data:`COMPILE_MIN_SAMPLE_STEPS` samples × steps; never with representation mixing (Part III's
    mixed loss reads features and head apart) nor with Part II's strategies or Part IV's regularisers, and only
    where TorchInductor can build kernels (a C++ compiler for the CPU, Triton for CUDA). The decision depends on
    the configuration, not on timings, so a run takes the same path wherever the same tools exist
    (``Result.env['compiled']`` records it)."""
    setting = os.environ.get(COMPILE_ENV, "").strip()
    if setting == "0" or device.type not in ("cpu", "cuda") or config.mixing_alpha > 0 or perturbation.active(config) \
            or regularisers.active(config):
        return False
    if setting != "1":
        batch = train_size if config.batch_size is None else min(config.batch_size, train_size)
        if config.model not in COMPILE_MODELS or config.num_steps * batch < COMPILE_MIN_SAMPLE_STEPS:
            return False
    if device.type == "cuda":
        return importlib.util.find_spec("triton") is not None
    return any(shutil.which(name) for name in (os.environ.get("CXX", "g++"), "g++", "clang++"))


def _forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(x)


@functools.cache
def _compiled_forward():
    """The model's forward compiled once per process (TorchInductor); a new model of the same shape reuses its
    kernels. The loss stays outside: PyTorch's own (log-)softmax is parallel, and in float64 the compiled one
    was 3x slower."""
    return torch.compile(_forward, dynamic=False)


def _inductor_settings():
    """:data:`INDUCTOR_SETTINGS` while the forward and the backward pass compile (on their first calls)."""
    import torch._inductor.config as inductor  # here: importing TorchInductor costs seconds, only compiled runs need it

    return inductor.patch(INDUCTOR_SETTINGS)


class Gradients:
    """One step's loss and gradients (forward and backward), eager or with ``torch.compile``.

    A compiled step that fails (no working compiler after all, an unsupported operation) warns once and the
    run continues eagerly: the failure comes before the optimiser step, so nothing is half-applied."""

    def __init__(self, config: Config, model: nn.Module, optimizer: torch.optim.Optimizer, compiled: bool):
        self.config, self.model, self.optimizer, self.compiled = config, model, optimizer, compiled
        self.parameters = [p for group in optimizer.param_groups for p in group["params"]]

    def _zero_grad(self) -> None:
        for parameter in self.parameters:  # optimizer.zero_grad(set_to_none=True), without its profiler record
            parameter.grad = None

    def __call__(self, x: torch.Tensor, y: torch.Tensor, step: int = 0, noise_std: float = 0.0) -> torch.Tensor:
        if self.compiled:
            try:
                return self._step(x, y, compiled=True)
            except Exception as error:  # inductor fails in many ways (compiler, headers, an operation)
                warnings.warn(f"torch.compile of the training step failed ({type(error).__name__}: "
                              f"{str(error).splitlines()[0] if str(error) else ''}); training continues without it.",
                              RuntimeWarning, stacklevel=2)
                self.compiled = False
        return self._step(x, y, compiled=False, step=step, noise_std=noise_std)

    def _step(self, x: torch.Tensor, y: torch.Tensor, compiled: bool, step: int = 0,
              noise_std: float = 0.0) -> torch.Tensor:
        if not compiled:
            loss = training_loss(self.config, self.model, x, y, step, noise_std)
            self._zero_grad()
            loss.backward()
            return loss
        with _inductor_settings():
            loss = objective(self.config, _compiled_forward()(self.model, x), y)
            self._zero_grad()
            loss.backward()
        return loss
