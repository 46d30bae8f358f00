"""The one training loop of the book (all parts use it).

Full batch or minibatch with the data kept on the device, AdamW or SGD, MSE
or cross-entropy, linear warm-up, evaluation on a schedule (train and test
accuracy/loss, weight norm, and any registered metric), a NaN/inf guard,
checkpoint + resume, the optional early stop after grokking (``Config.stop_after_grok``,
:func:`grokutils.result.stop_step`), and Part III's intervention (representation mixing, the
norm-matched control and the per-step norm trace its baseline records; see
:mod:`grokutils.intervention`), Part II's strategies (:mod:`grokutils.perturbation`) and Part IV's regularisers
(:mod:`grokutils.regularisers`, through :func:`grokutils.steps.training_loss`). :mod:`grokutils.sweep` trains
many configurations of one shape at once with the same pieces.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from grokutils import data as data_module
from grokutils import intervention, models, perturbation
from grokutils.config import Config, eval_steps
from grokutils.files import atomic_write, move_aside
from grokutils.metrics.registry import REGISTRY
from grokutils.metrics.basic import weight_norm
from grokutils.result import Result, environment, stop_step
from grokutils.losses import objective as objective
from grokutils.steps import COMPILE_ENV as COMPILE_ENV
from grokutils.steps import Gradients as Gradients
from grokutils.steps import compile_wanted as compile_wanted
from grokutils.steps import make_optimizer as make_optimizer
from grokutils.steps import optimizer_step
from grokutils.steps import training_loss as training_loss
from grokutils.steps import warmup_factor as warmup_factor

EVAL_CHUNK = 8192
Callback = Callable[["EvalContext"], dict]


class TrainingDiverged(RuntimeError):
    """The loss or the parameters became NaN or infinite."""


def resolve_device(name: str = "auto") -> torch.device:
    """``'auto'`` picks CUDA, then Apple MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' was asked for but no CUDA device is visible; use device='auto'.")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise RuntimeError("device='mps' was asked for but Apple's MPS is not available here; use device='auto'.")
    return torch.device(name)


class BatchSampler:
    """Indices of the minibatch of each step; ``None`` for full batch.

    Each epoch is a permutation drawn from a generator seeded by
    ``(seed, epoch)``, so any step's batch is known without replaying the
    stream: resuming from a checkpoint gives the same batches.
    """

    def __init__(self, num_samples: int, batch_size: int | None, seed: int, device: torch.device):
        self.full = batch_size is None or batch_size >= num_samples
        self.num_samples, self.batch_size, self.seed, self.device = num_samples, batch_size, seed, device
        self.per_epoch = 1 if self.full else num_samples // batch_size
        self._epoch, self._order = -1, None

    def __call__(self, step: int) -> torch.Tensor | None:
        if self.full:
            return None
        epoch, position = divmod(step, self.per_epoch)
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._order = torch.randperm(self.num_samples, generator=generator).to(self.device)
            self._epoch = epoch
        return self._order[position * self.batch_size:(position + 1) * self.batch_size]


@dataclass
class EvalContext:
    """What a metric callback sees at an evaluation step."""

    model: nn.Module
    data: data_module.Dataset
    config: Config
    step: int


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Logits of ``x`` in chunks (evaluation mode)."""
    return torch.cat([model(chunk) for chunk in x.split(EVAL_CHUNK)])


def evaluate(context: EvalContext, callbacks: Iterable[Callback] = ()) -> dict:
    """Accuracy and loss on the full train and test splits, weight norm, then callbacks.

    Losses are means over samples (and classes for MSE) whatever the training
    reduction, so that runs with different batch sizes compare.
    """
    model, data, config = context.model, context.data, context.config
    was_training = model.training
    model.eval()
    row = {}
    for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
        logits = predict(model, x)
        row[f"{split}_acc"] = float((logits.argmax(-1) == y).float().mean())
        row[f"{split}_loss"] = float(objective(config, logits, y, reduction="mean"))
    row["weight_norm"] = weight_norm(model)
    for callback in callbacks:
        row.update(callback(context))
    model.train(was_training)
    return row


#: The recorded values whose NaN/inf means training diverged. Metrics are not among them: some
#: are legitimately infinite (NC2 of a class whose mean feature is zero, an NC1 with no
#: between-class spread), and each metric raises on NaN inputs itself.
DIVERGENCE_SIGNALS = ("train_loss", "test_loss", "weight_norm")


def check_finite(row: dict, step: int, config: Config) -> None:
    """NaN/inf guard on :data:`DIVERGENCE_SIGNALS`: stop with a message that says what to change."""
    bad = {k: row[k] for k in DIVERGENCE_SIGNALS if k in row and not math.isfinite(row[k])}
    if bad:
        raise TrainingDiverged(
            f"{config.label()} diverged at step {step}: {bad}. Lower lr (now {config.lr}) or init_scale "
            f"(now {config.init_scale}), or use loss_reduction='mean' (now {config.loss_reduction!r}).")


def registered_callbacks(config: Config) -> list[Callback]:
    """The metric callbacks named in ``config.metrics`` (see grokutils.metrics.REGISTRY)."""
    return [REGISTRY[name] for name in config.metrics if name in REGISTRY]


# ------------------------------------------------------------------- checkpoint
#: Defaults of :class:`Checkpointer`: a save at the first evaluation after ``FIRST_S`` seconds, then after
#: intervals that double up to ``EVERY_S`` seconds, and in any case every ``EVERY_STEPS`` steps.
CHECKPOINT_FIRST_S, CHECKPOINT_EVERY_S, CHECKPOINT_EVERY_STEPS = 5.0, 60.0, 1000


class CorruptCheckpointWarning(UserWarning):
    """A checkpoint could not be read (truncated, or not a grokutils checkpoint); it was moved aside."""


def checkpoint_safe(value, where: str = "state"):
    """``value`` as what ``torch.load(..., weights_only=True)`` reads back: tensors, numbers, strings,
    None, and lists, tuples and dicts of them; numpy scalars and arrays become Python numbers and lists
    (the same values). Anything else raises ``ValueError`` naming where it is (``where``)."""
    if isinstance(value, np.generic):  # before float: np.float64 is a float subclass that pickles as numpy's
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return value
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: checkpoint_safe(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [checkpoint_safe(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    raise ValueError(f"{where} is a {type(value).__name__}, which a checkpoint cannot hold (it is read back with "
                     "torch.load(weights_only=True)); record numbers, strings, None, tensors, or lists and "
                     "dicts of them.")


class Checkpointer:
    """Saves training state at evaluation steps and restores it when the same configuration is run
    again. Writes are atomic (:func:`grokutils.files.atomic_write`): an interrupted save leaves the
    previous checkpoint.

    A save happens at the first evaluation at least ``every_steps`` steps after the last save, or once
    the time since the last save reaches the current interval: ``first_s`` seconds at first, doubling
    after every save up to ``every_s`` (``every_s = 0``: every evaluation). So a run interrupted in its
    first minute resumes from a save a few seconds old, and a long run saves about once a minute.

    Checkpoints are read with ``torch.load(..., weights_only=True)``: tensors, numbers, strings and
    containers of them only (see :func:`checkpoint_safe`), so a checkpoint from elsewhere cannot run
    code. One that cannot be read (truncated, or not such a file) is moved aside to ``<name>.corrupt``
    with a :class:`CorruptCheckpointWarning`, and training starts from step 0.
    """

    def __init__(self, path: str | Path | None, key: str, every_s: float = CHECKPOINT_EVERY_S,
                 every_steps: int | None = CHECKPOINT_EVERY_STEPS, first_s: float = CHECKPOINT_FIRST_S):
        for name, value in (("checkpoint_every_s", every_s), ("first_s", first_s)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
                raise ValueError(f"{name}={value!r} is not allowed; expected a non-negative number of seconds.")
        if every_steps is not None and (isinstance(every_steps, bool) or not isinstance(every_steps, int)
                                        or every_steps < 1):
            raise ValueError(f"checkpoint_every_steps={every_steps!r} is not allowed; expected a positive integer "
                             "(steps between checkpoints), or None to save by time only.")
        self.path = Path(path) if path else None
        self.key, self.every_s, self.every_steps, self.first_s = key, float(every_s), every_steps, float(first_s)
        self._last, self._last_step, self._saves = time.perf_counter(), None, 0

    def load(self) -> dict | None:
        """The saved state of this key, or None (no file, another key's, or unreadable: moved aside)."""
        if self.path is None or not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
            if not isinstance(state, dict) or not isinstance(state.get("step"), int):
                raise ValueError("it is not a grokutils training checkpoint")
        except Exception as error:  # truncated, foreign and unsafe files fail in many different ways
            aside = move_aside(self.path)
            warnings.warn(f"checkpoint {self.path} could not be read ({type(error).__name__}: "
                          f"{str(error).splitlines()[0] if str(error) else ''}); moved it to {aside.name} and "
                          "training starts from step 0.", CorruptCheckpointWarning, stacklevel=3)
            return None
        return state if state.get("key") == self.key else None

    def start(self, step: int) -> None:
        """Count steps and seconds from ``step`` (the step training starts or resumes at), now."""
        self._last, self._last_step = time.perf_counter(), step

    def interval_s(self) -> float:
        """Seconds from the last save after which the next evaluation saves."""
        return min(self.every_s, self.first_s * 2.0 ** min(self._saves, 60))

    def maybe_save(self, state_fn: Callable[[], dict], force: bool = False, step: int | None = None) -> bool:
        """Save ``state_fn()`` if ``force``, or if the interval or ``every_steps`` steps (counted to
        ``step``) have passed since the last save. Returns whether it saved."""
        if self.path is None:
            return False
        by_steps = (step is not None and self.every_steps is not None and self._last_step is not None
                    and step - self._last_step >= self.every_steps)
        if force or by_steps or time.perf_counter() - self._last >= self.interval_s():
            state = checkpoint_safe({"key": self.key, **state_fn()})
            atomic_write(self.path, lambda handle: torch.save(state, handle))
            self._last, self._last_step, self._saves = time.perf_counter(), step, self._saves + 1
            return True
        return False


@contextlib.contextmanager
def flush_denormals():
    """Treat subnormal floats as zero while training (restored afterwards).

    AdamW's second-moment estimates and tiny activations drift into the
    subnormal range late in long runs; on x86 CPUs every operation on them is
    up to ~100x slower. Flushing changes values below 1e-38 only.
    """
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def progress_bar(enabled: bool, total: int, initial: int, label: str):
    """A tqdm bar (notebook widget in Jupyter, text elsewhere) or a no-op."""
    if not enabled:
        return None
    from tqdm.auto import tqdm  # here, not at the top: tqdm.auto loads ipywidgets in Jupyter

    return tqdm(total=total, initial=initial, desc=label, mininterval=1.0)


def show_progress(bar, steps_done: int, row: dict) -> None:
    if bar is not None:
        bar.update(steps_done - bar.n)
        bar.set_postfix(train=f"{row['train_acc']:.3f}", test=f"{row['test_acc']:.3f}", refresh=False)


# ----------------------------------------------------------------------- train
def check_training_arguments(config, dataset, callbacks, progress, checkpoint_path, entry: str = "train") -> list:
    """What :func:`train` and :func:`grokutils.sweep.train_sweep` check before any work: the config type, the
    dataset's type, callables for ``callbacks``, a boolean ``progress``, a path or None for the checkpoint.
    Returns ``callbacks`` as a list."""
    if not isinstance(config, Config):
        raise ValueError(f"{entry}: config must be a grokutils.Config, got {type(config).__name__}.")
    if dataset is not None and not isinstance(dataset, data_module.Dataset):
        raise ValueError(f"{entry}: dataset must be a grokutils.data.Dataset or None (load it from the config), "
                         f"got {type(dataset).__name__}.")
    if dataset is not None and config.batch_size is not None and config.batch_size >= len(dataset.y_train):
        warnings.warn(f"{entry}: Config.batch_size = {config.batch_size} is at least the {len(dataset.y_train)} "
                      "training samples of the dataset given, so training is full batch (batch_size=None says so).",
                      stacklevel=3)
    if isinstance(callbacks, (str, bytes)) or not hasattr(callbacks, "__iter__"):
        raise ValueError(f"{entry}: callbacks must be a list of functions of an EvalContext, got {callbacks!r}.")
    callbacks = list(callbacks)
    for index, callback in enumerate(callbacks):
        if not callable(callback):
            raise ValueError(f"{entry}: callbacks[{index}] = {callback!r} is not callable; pass functions of an "
                             "EvalContext that return a dict.")
    if not isinstance(progress, bool):
        raise ValueError(f"{entry}: progress={progress!r} is not allowed; expected True or False.")
    if checkpoint_path is not None and not isinstance(checkpoint_path, (str, Path)):
        raise ValueError(f"{entry}: checkpoint_path must be a path or None, got {checkpoint_path!r}.")
    return callbacks


def train(config: Config, dataset: data_module.Dataset | None = None, callbacks: Iterable[Callback] = (),
          progress: bool = True, checkpoint_path: str | Path | None = None,
          checkpoint_every_s: float = CHECKPOINT_EVERY_S, baseline_norm_trace=None,
          checkpoint_every_steps: int | None = CHECKPOINT_EVERY_STEPS) -> Result:
    """Train one configuration and return its :class:`~grokutils.result.Result`.

    ``callbacks`` (functions of an :class:`EvalContext` returning a dict of
    values) run at every evaluation step after the registered metrics of
    ``config.metrics``. With ``checkpoint_path``, state is saved at evaluations (see :class:`Checkpointer`:
    a few seconds in, then about every ``checkpoint_every_s`` seconds, and every ``checkpoint_every_steps``
    steps) and an interrupted run resumes from it, to the same history bit for bit.
    A norm-matched ``config`` (Part III, claim 3) needs ``baseline_norm_trace``,
    the ``norm_trace`` of :meth:`Config.baseline`'s result. With ``config.stop_after_grok``
    the run ends at its :func:`~grokutils.result.stop_step` (the first evaluation at or after
    t_grok + k), and its steps, history, timings and norm trace end there.
    """
    callbacks = check_training_arguments(config, dataset, callbacks, progress, checkpoint_path)
    checkpointer = Checkpointer(checkpoint_path, config.key(), checkpoint_every_s, checkpoint_every_steps)
    targets = intervention.check_norm_trace(config, baseline_norm_trace) if config.norm_matched else None
    with flush_denormals():
        return _train(config, dataset, callbacks, progress, checkpointer, targets)


class NormTrace:
    """Part III, claim 3: the parameter norm after every step (``trace[s]``, s = 0..num_steps),
    kept on the device and read back only at the end (no per-step host sync). A run that stops early
    (``Config.stop_after_grok``) reports only the steps it trained: ``trace[:last step + 1]``."""

    def __init__(self, num_steps: int, device: torch.device, members: int | None = None):
        shape = (num_steps + 1,) if members is None else (members, num_steps + 1)
        self.values = torch.full(shape, float("nan"), dtype=torch.float32, device=device)

    def record(self, step: int, norm: torch.Tensor) -> None:
        self.values[..., step] = norm

    def record_member(self, index: int, step: int, norm: torch.Tensor) -> None:
        """A sweep's member ``index`` alone (a trace of several members)."""
        self.values[index, step] = norm

    def state(self) -> torch.Tensor:
        return self.values.detach().cpu().clone()

    def load(self, values: torch.Tensor) -> None:
        self.values.copy_(values)

    def array(self) -> np.ndarray:
        return self.values.cpu().numpy()


def training_device(config: Config) -> torch.device:
    """:func:`resolve_device` of ``config.device``, refusing a float64 loss where the device has no float64."""
    device = resolve_device(config.device)
    if device.type == "mps" and config.loss_dtype == "float64":
        raise ValueError(f"{config.label()}: Config.loss_dtype = 'float64' cannot run on Apple's MPS, which has no "
                         "float64; use device='cpu', or loss_dtype='float32' (another run, under another key).")
    return device


def _train(config: Config, dataset: data_module.Dataset | None, callbacks: list[Callback], progress: bool,
           checkpointer: Checkpointer, targets: np.ndarray | None) -> Result:
    device = training_device(config)
    dataset = (dataset or data_module.load(config)).to(device)
    model = models.build(config, dataset.input_shape, dataset.num_classes, dataset.vocab_size).to(device)
    optimizer = make_optimizer(config, model.parameters())
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_factor(config))
    sampler = BatchSampler(len(dataset.y_train), config.batch_size, config.seed, device)
    callbacks = registered_callbacks(config) + list(callbacks)
    evaluation_steps = eval_steps(config.eval_schedule, config.num_steps)
    parameters = list(model.parameters())
    trace = NormTrace(config.num_steps, device) if config.records_norm_trace else None
    targets = None if targets is None else torch.from_numpy(targets).to(device)

    compiled = compile_wanted(config, len(dataset.y_train), device)
    start, steps, history, elapsed = 0, [], {}, {"train": 0.0, "eval": 0.0}
    state = checkpointer.load()
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        start, steps, history, elapsed = state["step"], state["steps"], state["history"], state["elapsed"]
        compiled = state.get("compiled", False)  # resume on the path the run started on: the same numbers
        if trace is not None:
            trace.load(state["norm_trace"])
    elif trace is not None:
        trace.record(0, intervention.parameter_norm(parameters))
    gradients = Gradients(config, model, optimizer, compiled)
    x_all, y_all, warmup = dataset.x_train, dataset.y_train, config.warmup_steps

    def snapshot() -> dict:
        return {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(), "step": step, "steps": steps, "history": history,
                "elapsed": elapsed, "compiled": gradients.compiled,
                **({} if trace is None else {"norm_trace": trace.state()})}

    checkpointer.start(start)
    bar = progress_bar(progress, config.num_steps, start, config.label())
    pending = [s for s in evaluation_steps if s >= start and s not in steps]
    if stop_step(config, steps, history.get("test_acc", [])) is not None:
        pending = []  # resumed after the early stop: nothing left to train
    step = start
    model.train()
    for next_eval in pending:
        tick = time.perf_counter()
        noise = perturbation.noise_std(config, history.get("train_acc")) if perturbation.active(config) else 0.0
        for step in range(step, next_eval):
            batch = sampler(step)
            x, y = (x_all, y_all) if batch is None else (x_all.index_select(0, batch), y_all.index_select(0, batch))
            gradients(x, y, step, noise)
            optimizer_step(optimizer)
            if schedule.last_epoch < warmup:  # after the warm-up the factor is 1 for good: nothing to update
                schedule.step()
            if targets is not None:
                intervention.match_norm_(parameters, targets[step + 1])
            if trace is not None:
                trace.record(step + 1, intervention.parameter_norm(parameters))
        step = next_eval
        if device.type == "cuda":
            torch.cuda.synchronize()
        tock = time.perf_counter()
        elapsed["train"] += tock - tick
        row = evaluate(EvalContext(model, dataset, config, step), callbacks)
        elapsed["eval"] += time.perf_counter() - tock
        row["wall_time"] = elapsed["train"] + elapsed["eval"]
        check_finite(row, step, config)
        steps.append(step)
        for name, value in row.items():
            history.setdefault(name, []).append(value)
        show_progress(bar, step, row)
        checkpointer.maybe_save(snapshot, step=step)
        if stop_step(config, steps, history["test_acc"]) is not None:
            break
    if bar is not None:
        bar.close()
    timings = {"train_s": elapsed["train"], "eval_s": elapsed["eval"],
               "ms_per_step": 1000 * elapsed["train"] / max(steps[-1], 1)}
    env = environment(device) | dataset.provenance | {"compiled": gradients.compiled}
    return Result(config, steps, history, timings, env,
                  norm_trace=None if trace is None else trace.array()[:steps[-1] + 1], model=model)
