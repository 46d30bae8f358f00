"""Run configuration: a frozen, validated dataclass and its content hash.

A :class:`Config` fully determines a training run (data, model, optimiser,
schedule, seeds, recorded metrics). Its :meth:`Config.key` is the hash under
which :mod:`grokutils.runs` stores the result, so a changed value never reuses
an old result. Names follow :mod:`grokutils.glossary`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field

ALGORITHMIC_TASKS = ("add", "sub", "mul", "div", "s5")
IMAGE_TASKS = ("mnist", "mnist_torchvision", "fashion_mnist", "cifar10")
#: Part I, Appendix C: sentence classification, read from ``$GROKUTILS_DATA/<task>/`` (see grokutils.data).
TEXT_TASKS = ("sst2", "trec6", "ag_news")
TASKS = ALGORITHMIC_TASKS + IMAGE_TASKS + TEXT_TASKS
MODELS = ("transformer", "mlp", "cnn", "vit", "resnet18", "text_transformer")
LOSSES = ("cross_entropy", "mse")
REDUCTIONS = ("mean", "sum")
OPTIMIZERS = ("adamw", "sgd")
DEVICES = ("auto", "cpu", "cuda", "mps")
FLOAT_FIELDS = ("frac_train", "init_scale", "lr", "weight_decay", "momentum", "grok_threshold", "mixing_alpha")
STORE_FORMAT = 1  # bump when the meaning of a stored result changes

#: Fields added after results were first stored, with their defaults. They enter
#: :meth:`Config.key` only when set to something else, so every key stored before they
#: existed stays valid (their runs used exactly these defaults).
LATER_FIELDS = {"activation": "relu", "mixing_alpha": 0.0, "norm_matched": False, "stop_after_grok": None}
ACTIVATIONS = ("relu", "tanh", "softplus")
#: The evaluation metrics that ``metrics`` may list: the keys of :data:`grokutils.metrics.REGISTRY`,
#: which maps each to its callback (a test keeps the two equal; names here keep this module a leaf).
METRIC_NAMES = ("representation_norm", "collapse", "spectral", "fourier", "information", "robustness",
                "population", "concentration", "snapshots")
#: Names that ``metrics`` may list besides :data:`METRIC_NAMES`: series the training
#: loop itself records after every optimiser step (not at evaluations), stored next to the result.
STEP_METRICS = ("norm_trace",)


def is_prime(n: int) -> bool:
    """Deterministic primality test for the small moduli used here."""
    if n < 2:
        return False
    return all(n % k for k in range(2, int(n**0.5) + 1))


def _fail(name: str, value, allowed: str, hint: str = "") -> None:
    message = f"Config.{name} = {value!r} is not allowed; expected {allowed}."
    raise ValueError(message + (f" {hint}" if hint else ""))


@dataclass(frozen=True)
class Config:
    """Everything that defines one training run (see :mod:`grokutils.glossary`).

    Defaults are the Nanda et al. (2023) modular-addition setup used by the
    quick-start chapter. Invalid values raise ``ValueError`` naming the field,
    the value and what is allowed, before any work starts.
    """

    # data
    task: str = "add"
    p: int = 113
    frac_train: float = 0.3
    num_train: int = 1000
    data_seed: int = 0
    # model
    model: str = "transformer"
    d_model: int = 128
    num_heads: int = 4
    d_mlp: int = 512
    num_layers: int = 1
    layer_norm: bool = False
    widths: tuple[int, ...] = (200, 200, 200)
    activation: str = "relu"  # MLP hidden activation; smooth ones for Part I, Theorem 4.3
    init_scale: float = 1.0
    # optimisation
    loss: str = "cross_entropy"
    loss_reduction: str = "mean"
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1.0
    betas: tuple[float, float] = (0.9, 0.98)
    momentum: float = 0.0
    warmup_steps: int = 10
    batch_size: int | None = None
    num_steps: int = 20_000
    stop_after_grok: int | None = None  # end k steps after t_grok (first evaluation >= t_grok + k); None = never
    seed: int = 0
    # intervention (Part III, claim 3)
    mixing_alpha: float = 0.0  # representation mixing within each batch; 0 = off
    norm_matched: bool = False  # rescale parameters to the baseline's norm after every step
    # measurement
    eval_schedule: str = "paper"
    grok_threshold: float = 0.95
    metrics: tuple[str, ...] = field(default_factory=tuple)
    device: str = "auto"

    def __post_init__(self) -> None:
        # normalise list inputs so that equal configs hash equally
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        object.__setattr__(self, "metrics", tuple(self.metrics))
        for name in FLOAT_FIELDS:  # 1 and 1.0 must hash to the same store key
            value = getattr(self, name)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                object.__setattr__(self, name, float(value))
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise ``ValueError`` on the first invalid field."""
        if self.task not in TASKS:
            _fail("task", self.task, f"one of {TASKS}")
        if self.task in ALGORITHMIC_TASKS and self.task != "s5":
            if not isinstance(self.p, int) or self.p < 2:
                _fail("p", self.p, "an integer >= 2")
            if self.task == "div" and not is_prime(self.p):
                _fail("p", self.p, "a prime for task 'div'",
                      "Division mod p needs every nonzero y to be invertible; try 97 or 113.")
        if not 0.0 < self.frac_train < 1.0:
            _fail("frac_train", self.frac_train, "a fraction strictly between 0 and 1")
        if self.num_train < 1:
            _fail("num_train", self.num_train, "a positive number of training images")
        if self.model not in MODELS:
            _fail("model", self.model, f"one of {MODELS}")
        self._validate_text()
        if self.model == "transformer":
            if self.task not in ALGORITHMIC_TASKS:
                _fail("model", self.model, "'mlp' or 'cnn' for image tasks")
            if self.num_layers not in (1, 2):
                _fail("num_layers", self.num_layers, "1 or 2")
            if self.d_model % self.num_heads:
                _fail("num_heads", self.num_heads, f"a divisor of d_model={self.d_model}")
        if self.model in ("cnn", "vit", "resnet18") and self.task in ALGORITHMIC_TASKS:
            _fail("model", self.model, "'transformer' or 'mlp' for algorithmic tasks")
        if self.model == "vit" and self.num_layers != 1:
            _fail("num_layers", self.num_layers, "1 for model='vit' (the one-layer ViT of Part I, Appendix C)")
        if self.model == "vit" and self.d_model % self.num_heads:
            _fail("num_heads", self.num_heads, f"a divisor of d_model={self.d_model}")
        if not self.widths or min(self.widths) < 1:
            _fail("widths", self.widths, "a non-empty tuple of positive widths")
        if self.activation not in ACTIVATIONS:
            _fail("activation", self.activation, f"one of {ACTIVATIONS}")
        if self.activation != "relu" and self.model != "mlp":
            _fail("activation", self.activation,
                  "'relu' unless model='mlp' (only the MLP's activation is configurable)")
        if self.init_scale <= 0:
            _fail("init_scale", self.init_scale, "a positive factor")
        if self.loss not in LOSSES:
            _fail("loss", self.loss, f"one of {LOSSES}")
        if self.loss_reduction not in REDUCTIONS:
            _fail("loss_reduction", self.loss_reduction, f"one of {REDUCTIONS}")
        if self.optimizer not in OPTIMIZERS:
            _fail("optimizer", self.optimizer, f"one of {OPTIMIZERS}")
        if not self.lr > 0:
            _fail("lr", self.lr, "a positive learning rate")
        if self.weight_decay < 0:
            _fail("weight_decay", self.weight_decay, "a non-negative number")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            _fail("betas", self.betas, "two numbers in [0, 1)")
        if self.warmup_steps < 0:
            _fail("warmup_steps", self.warmup_steps, "a non-negative number of steps")
        if self.batch_size is not None and self.batch_size < 1:
            _fail("batch_size", self.batch_size, "a positive integer, or None for full batch")
        if not isinstance(self.num_steps, int) or self.num_steps < 0:
            _fail("num_steps", self.num_steps, "a non-negative integer")
        if not re.fullmatch(r"paper|every:[1-9]\d*", self.eval_schedule):
            _fail("eval_schedule", self.eval_schedule, "'paper' or 'every:N' with N >= 1")
        if not 0 < self.grok_threshold <= 1:
            _fail("grok_threshold", self.grok_threshold, "a number in (0, 1]")
        if self.device not in DEVICES:
            _fail("device", self.device, f"one of {DEVICES}")
        unknown = [m for m in self.metrics if m not in METRIC_NAMES and m not in STEP_METRICS]
        if unknown:
            _fail("metrics", unknown, f"names from grokutils.metrics.REGISTRY: {sorted(METRIC_NAMES)}, "
                                      f"or the per-step series {STEP_METRICS}")
        self._validate_intervention()
        self._validate_stop()

    def _validate_text(self) -> None:
        """Part I, Appendix C: text tasks take the one-layer text transformer, and it takes only them."""
        if self.task in TEXT_TASKS and self.model != "text_transformer":
            _fail("model", self.model, f"'text_transformer' for the text task {self.task!r}",
                  "Sentences are token sequences; the image and table models cannot read them.")
        if self.model == "text_transformer" and self.task not in TEXT_TASKS:
            _fail("model", self.model, f"a model for task {self.task!r}: 'text_transformer' reads only the "
                                       f"text tasks {TEXT_TASKS}")
        if self.model == "text_transformer" and self.num_layers != 1:
            _fail("num_layers", self.num_layers,
                  "1 for model='text_transformer' (configured as Part I's one-layer ViT)")
        if self.model == "text_transformer" and self.d_model % self.num_heads:
            _fail("num_heads", self.num_heads, f"a divisor of d_model={self.d_model}")

    def _validate_intervention(self) -> None:
        """Part III, claim 3: representation mixing and its norm-matched control."""
        alpha = self.mixing_alpha
        if isinstance(alpha, bool) or not isinstance(alpha, float) or not 0.0 <= alpha < 1.0:
            _fail("mixing_alpha", alpha, "a number in [0, 1)",
                  "0 means no mixing; Part III uses a small α such as 0.1.")
        if alpha > 0 and self.batch_size == 1:
            _fail("batch_size", self.batch_size, "at least 2 when mixing_alpha > 0",
                  "Mixing pairs each sample with the next one in its batch; a batch of one has no other.")
        if not isinstance(self.norm_matched, bool):
            _fail("norm_matched", self.norm_matched, "True or False")
        if self.norm_matched and alpha == 0:
            _fail("norm_matched", self.norm_matched, "False when mixing_alpha = 0",
                  "The control's baseline is config.replace(mixing_alpha=0, norm_matched=False): with no "
                  "mixing that is the run itself, so matching its norm would change nothing.")
        if self.norm_matched and "norm_trace" not in self.metrics:
            _fail("norm_matched", self.norm_matched, "False unless metrics lists 'norm_trace'",
                  "The control needs its baseline's parameter norm after every step; the baseline "
                  "(same config, mixing_alpha=0, norm_matched=False) records it only if metrics lists "
                  "'norm_trace'. Add 'norm_trace' to metrics.")

    def _validate_stop(self) -> None:
        """The optional early stop after grokking (Part III trains "≤ 50,000 steps")."""
        k = self.stop_after_grok
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 0):
            _fail("stop_after_grok", k, "None or an integer >= 0",
                  "A run ends at its first evaluation at or after t_grok + stop_after_grok (t_grok: the first "
                  "evaluation with test_acc >= grok_threshold); None trains all num_steps.")
        if k is not None and self.norm_matched:
            _fail("stop_after_grok", k, "None when norm_matched=True",
                  "A norm-matched control follows its baseline's norm after every step up to num_steps; its "
                  "baseline (the same config with mixing_alpha=0, hence the same stop_after_grok) would stop "
                  "early and leave the later steps without a norm to match.")

    # ------------------------------------------------------------ conveniences
    @property
    def is_algorithmic(self) -> bool:
        return self.task in ALGORITHMIC_TASKS

    @property
    def is_text(self) -> bool:
        """A sentence-classification task of Part I's appendix (SST-2, TREC-6, AG-news)."""
        return self.task in TEXT_TASKS

    @property
    def records_norm_trace(self) -> bool:
        """Whether the run records its parameter norm after every step (``Result.norm_trace``):
        when ``metrics`` lists ``'norm_trace'`` and there is no mixing, i.e. when the run can be
        the baseline of a norm-matched control (Part III, claim 3)."""
        return "norm_trace" in self.metrics and self.mixing_alpha == 0

    def baseline(self) -> Config:
        """The run whose norm a norm-matched control follows (Part III, claim 3): the same
        configuration without mixing and without matching."""
        return self.replace(mixing_alpha=0.0, norm_matched=False)

    def replace(self, **changes) -> Config:
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> Config:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"Unknown Config fields {sorted(unknown)}; known fields: {sorted(known)}")
        return cls(**values)

    def key(self) -> str:
        """Content hash of every field (and the store format): the result-store key.

        ``device`` is excluded: it changes where a run executes, not what it is.
        Fields of :data:`LATER_FIELDS` count only when they differ from their default.
        """
        values = self.to_dict()
        values.pop("device")
        for name, default in LATER_FIELDS.items():
            if values[name] == default:
                values.pop(name)
        values["store_format"] = STORE_FORMAT
        text = json.dumps(values, sort_keys=True, default=list)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def label(self) -> str:
        """Short human-readable name used in file names and plot legends."""
        data = f"{self.task}{self.p}" if self.is_algorithmic and self.task != "s5" else self.task
        if not self.is_algorithmic and self.num_train != 1000:  # 1,000 is the book's default
            data += f"{self.num_train}"
        intervention = f"-mix{self.mixing_alpha:g}" if self.mixing_alpha else ""
        intervention += "-normmatched" if self.norm_matched else ""
        return f"{data}-{self.model}-wd{self.weight_decay:g}{intervention}-s{self.seed}"


def eval_steps(schedule: str, num_steps: int) -> list[int]:
    """Evaluation steps of a run, always including step 0 and ``num_steps``.

    ``'paper'`` is the schedule of Sato & Sakamoto's code (Part I): every step
    below 30, every 10 below 150, then every ``num_steps // 150``.
    """
    if schedule == "paper":
        stride = max(num_steps // 150, 1)
        steps = set(range(0, min(30, num_steps + 1)))
        steps |= set(range(30, min(150, num_steps + 1), 10))
        steps |= set(range(150, num_steps + 1, stride))
    else:
        every = int(schedule.split(":")[1])
        steps = set(range(0, num_steps + 1, every))
    steps.add(num_steps)
    return sorted(steps)
