"""Plain PyTorch implementations of the Nanda et al. (2023) modular-addition run and of Part I's MLP.

This is the baseline of ``benchmarks/bench_train.py``: the model and training
loop written the way a reader of the paper would write them, with no tricks.

- :class:`ReferenceTransformer` runs the whole ``(a, b, '=')`` sequence through
  the layer (``nn.MultiheadAttention`` with a causal mask, then the ReLU MLP on
  every position, both with residuals), unembeds every position and keeps the
  logits of the last one.
- :func:`reference_train` is a plain full-batch loop: AdamW, cross-entropy (on
  float64 logits when ``config.loss_dtype`` says so, as the authors' code does),
  linear warm-up, and an evaluation (train and test accuracy and loss on the
  full splits) at the same steps as :func:`grokutils.train.train`.
- :func:`reference_train_mlp` is the same for Part I's MNIST MLP (minibatches,
  MSE on one-hot targets), the baseline of ``benchmarks/bench_mlp.py``.

``ReferenceTransformer.load_from`` copies the weights of a 1-layer,
no-LayerNorm :class:`grokutils.models.Transformer`, so that both compute the
same function (checked in ``tests/test_reference_loop.py``).
"""

from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import nn

import grokutils as gu


class ReferenceTransformer(nn.Module):
    """1-layer decoder-only transformer, no LayerNorm, no attention biases."""

    def __init__(self, vocab_size: int, num_classes: int, n_ctx: int = 3, d_model: int = 128,
                 num_heads: int = 4, d_mlp: int = 512):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Parameter(torch.randn(n_ctx, d_model) / math.sqrt(d_model))
        self.attn = nn.MultiheadAttention(d_model, num_heads, bias=False, batch_first=True)
        self.mlp_in = nn.Linear(d_model, d_mlp)
        self.mlp_out = nn.Linear(d_mlp, d_model)
        self.unembed = nn.Linear(d_model, num_classes, bias=False)
        # True above the diagonal = position i may not attend to j > i
        self.register_buffer("causal_mask", torch.triu(torch.ones(n_ctx, n_ctx, dtype=torch.bool), 1),
                             persistent=False)
        # Nanda et al.'s init: N(0, 1/d_model), unembedding N(0, 1/vocab), zero biases
        with torch.no_grad():
            for name, parameter in self.named_parameters():
                if name.endswith("bias"):
                    parameter.zero_()
                elif name.startswith("unembed"):
                    parameter.normal_(0, 1 / math.sqrt(vocab_size))
                else:
                    parameter.normal_(0, 1 / math.sqrt(d_model))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens) + self.pos[: tokens.shape[1]]
        attended, _ = self.attn(x, x, x, attn_mask=self.causal_mask, need_weights=False)
        x = x + attended
        x = x + self.mlp_out(F.relu(self.mlp_in(x)))
        logits = self.unembed(x)  # (B, T, num_classes)
        return logits[:, -1]

    @torch.no_grad()
    def load_from(self, fast: gu.models.Transformer) -> ReferenceTransformer:
        """Copy the weights of a 1-layer, no-LayerNorm grokutils ``Transformer``."""
        if len(fast.blocks) != 1:
            raise ValueError(f"load_from needs a 1-layer Transformer, got {len(fast.blocks)} layers.")
        block = fast.blocks[0]
        if not all(isinstance(m, nn.Identity) for m in (block.norm_attn, block.norm_mlp, fast.norm_final)):
            raise ValueError("load_from needs a Transformer without LayerNorm (layer_norm=False).")
        if block.num_heads != self.attn.num_heads:
            raise ValueError(f"heads differ: {block.num_heads} vs {self.attn.num_heads}.")
        self.embed.weight.copy_(fast.embed.weight)
        self.pos.copy_(fast.pos)
        self.attn.in_proj_weight.copy_(torch.cat([block.query.weight, block.key.weight, block.value.weight]))
        self.attn.out_proj.weight.copy_(block.out.weight)
        self.mlp_in.weight.copy_(block.mlp_in.weight)
        self.mlp_in.bias.copy_(block.mlp_in.bias)
        self.mlp_out.weight.copy_(block.mlp_out.weight)
        self.mlp_out.bias.copy_(block.mlp_out.bias)
        self.unembed.weight.copy_(fast.head.weight)
        return self


def build_reference(config: gu.Config, dataset: gu.data.Dataset) -> ReferenceTransformer:
    """The reference model of ``config`` (seeded with ``config.seed``)."""
    torch.manual_seed(config.seed)
    return ReferenceTransformer(dataset.vocab_size, dataset.num_classes, dataset.input_shape[0],
                                config.d_model, config.num_heads, config.d_mlp)


def reference_evaluation_steps(config: gu.Config, num_steps: int, eval_every: int | None = None) -> list[int]:
    """The steps at which :func:`reference_train` evaluates.

    By default grokutils' own schedule, ``eval_steps(config.eval_schedule,
    config.num_steps)`` restricted to the steps run (``<= num_steps``); with
    ``eval_every``, every ``eval_every`` steps plus step 0 and ``num_steps``.
    """
    if eval_every is None:
        return [s for s in gu.config.eval_steps(config.eval_schedule, config.num_steps) if s <= num_steps]
    return sorted(set(range(0, num_steps + 1, eval_every)) | {num_steps})


def reference_train(config: gu.Config, num_steps: int | None = None, eval_every: int | None = None,
                    model: ReferenceTransformer | None = None,
                    dataset: gu.data.Dataset | None = None) -> dict:
    """Plain full-batch training of ``config`` for ``num_steps`` steps.

    ``num_steps`` defaults to ``config.num_steps``; ``eval_every`` overrides the
    evaluation schedule (see :func:`reference_evaluation_steps`); ``model``
    (e.g. loaded from a grokutils model) replaces the freshly initialised one.
    Returns ``{"steps", "history", "timings", "model"}`` where ``timings`` has
    ``train_s``, ``eval_s`` and ``ms_per_step`` (training only, as grokutils).
    """
    num_steps = config.num_steps if num_steps is None else num_steps
    if config.batch_size is not None or config.loss != "cross_entropy" or config.optimizer != "adamw":
        raise ValueError("reference_train implements Nanda et al.'s setup only: full batch, "
                         "cross-entropy, AdamW.")
    dataset = dataset or gu.data.load(config)
    x_train, y_train = dataset.x_train, dataset.y_train
    model = model or build_reference(config, dataset)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=config.betas,
                                  weight_decay=config.weight_decay)
    warmup = config.warmup_steps
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / warmup) if warmup else 1.0)
    evaluate_at = set(reference_evaluation_steps(config, num_steps, eval_every))

    def cast(logits: torch.Tensor) -> torch.Tensor:  # Nanda et al. compute the loss in float64
        return logits.double() if config.loss_dtype == "float64" else logits

    def train_step(step: int) -> None:
        loss = F.cross_entropy(cast(model(x_train)), y_train)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()

    return _plain_loop(model, dataset, num_steps, evaluate_at, train_step,
                       lambda logits, y: F.cross_entropy(cast(logits), y).item())


def _plain_loop(model: nn.Module, dataset: gu.data.Dataset, num_steps: int, evaluate_at: set[int],
                train_step, loss_of) -> dict:
    """Steps 0..num_steps: an evaluation (accuracy and ``loss_of(outputs, labels)`` on the full train and test
    splits) at the steps of ``evaluate_at``, then ``train_step(step)``; each timed on its own."""
    history = {"train_acc": [], "test_acc": [], "train_loss": [], "test_loss": []}
    steps, train_s, eval_s = [], 0.0, 0.0
    for step in range(num_steps + 1):
        if step in evaluate_at:
            tick = time.perf_counter()
            model.eval()
            with torch.no_grad():
                for split, x, y in (("train", dataset.x_train, dataset.y_train),
                                    ("test", dataset.x_test, dataset.y_test)):
                    outputs = model(x)
                    history[f"{split}_acc"].append((outputs.argmax(-1) == y).float().mean().item())
                    history[f"{split}_loss"].append(loss_of(outputs, y))
            model.train()
            steps.append(step)
            eval_s += time.perf_counter() - tick
        if step == num_steps:
            break
        tick = time.perf_counter()
        train_step(step)
        train_s += time.perf_counter() - tick
    timings = {"train_s": train_s, "eval_s": eval_s, "ms_per_step": 1000 * train_s / max(num_steps, 1)}
    return {"steps": steps, "history": history, "timings": timings, "model": model}


# ------------------------------------------------------------------ Part I's MLP on MNIST
def build_reference_mlp(config: gu.Config, dataset: gu.data.Dataset) -> nn.Sequential:
    """Omnigrok / Part I's MLP as a reader writes it: ``nn.Sequential`` of Linear + ReLU layers, PyTorch's
    default init (seeded with ``config.seed``), every parameter then multiplied by ``config.init_scale``.
    Built in the same order as :class:`grokutils.models.MLP`, so it starts from the same weights."""
    if config.model != "mlp" or config.is_algorithmic or config.activation != "relu":
        raise ValueError("build_reference_mlp builds Part I's ReLU MLP on images only.")
    torch.manual_seed(config.seed)
    layers: list[nn.Module] = [nn.Flatten()]
    widths = config.widths
    for width_in, width_out in zip((math.prod(dataset.input_shape), *widths[:-1]), widths):
        layers += [nn.Linear(width_in, width_out), nn.ReLU()]
    model = nn.Sequential(*layers, nn.Linear(widths[-1], dataset.num_classes))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(config.init_scale)
    return model


def reference_train_mlp(config: gu.Config, num_steps: int | None = None, model: nn.Module | None = None,
                        dataset: gu.data.Dataset | None = None) -> dict:
    """Plain minibatch training of Part I's MNIST MLP (``presets.collapse_mnist`` / ``omnigrok_mnist``).

    AdamW with PyTorch's defaults for everything the config does not set (on the CPU that is the
    per-parameter implementation), MSE against one-hot targets with the config's reduction, a new
    random order of the training set every epoch (drawn as grokutils' ``BatchSampler`` draws it, so both
    loops see the same batches), no warm-up scheduler (``warmup_steps`` must be 0), and an evaluation
    (train and test accuracy and mean loss) at grokutils' evaluation steps. Returns ``{"steps",
    "history", "timings", "model"}`` as :func:`reference_train`.
    """
    num_steps = config.num_steps if num_steps is None else num_steps
    if config.batch_size is None or config.loss != "mse" or config.optimizer != "adamw" or config.warmup_steps:
        raise ValueError("reference_train_mlp implements Part I's setup only: minibatches, MSE, AdamW, no warm-up.")
    dataset = dataset or gu.data.load(config)
    x_train, y_train = dataset.x_train, dataset.y_train
    model = model or build_reference_mlp(config, dataset)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=config.betas,
                                  weight_decay=config.weight_decay)
    evaluate_at = set(reference_evaluation_steps(config, num_steps))
    num_classes, batch_size, n = dataset.num_classes, config.batch_size, len(y_train)
    per_epoch = n // batch_size

    orders: dict[int, torch.Tensor] = {}  # this epoch's random order of the training set

    def train_step(step: int) -> None:
        epoch, position = divmod(step, per_epoch)
        if position == 0:
            orders[0] = torch.randperm(n, generator=torch.Generator().manual_seed(config.seed * 1_000_003 + epoch))
        batch = orders[0][position * batch_size:(position + 1) * batch_size]
        outputs = model(x_train[batch])
        loss = F.mse_loss(outputs, F.one_hot(y_train[batch], num_classes).float(), reduction=config.loss_reduction)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return _plain_loop(model, dataset, num_steps, evaluate_at, train_step,
                       lambda outputs, y: F.mse_loss(outputs, F.one_hot(y, num_classes).float()).item())
