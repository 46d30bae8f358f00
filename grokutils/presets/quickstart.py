"""The quick-start's setups: Nanda et al. (2023) on a + b mod 113 and Omnigrok's MNIST MLP (Liu et al. 2023)."""

from __future__ import annotations

from grokutils.config import Config
from grokutils.presets.common import Deviation, offline_mnist_deviation
from grokutils.profiles import check_profile

NANDA_PAPER = Config(task="add", p=113, frac_train=0.3, model="transformer", d_model=128, num_heads=4,
                     d_mlp=512, num_layers=1, loss="cross_entropy", loss_dtype="float64", optimizer="adamw",
                     lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98), warmup_steps=10, batch_size=None,
                     num_steps=14_000, eval_schedule="every:100", seed=0)

NANDA_DEVIATIONS = [
    Deviation("training length", "well past the end of the 'cleanup' phase (≈ 13.3k steps)", "14,000 steps",
              "the three phases of Nanda et al. (memorisation, circuit formation, cleanup) end by ≈ 13.3k steps"),
    Deviation("train/test split", "one fixed random split", "seeded split, data_seed = 0",
              "same size (30 % of 12,769 pairs = 3,831); the particular split differs"),
    Deviation("vocabulary of the output", "p + 1 logits (the '=' token too)", "p logits",
              "the answer is never '='; dropping it changes nothing measurable"),
    Deviation("evaluation", "every 100 epochs", "every 100 steps", "full batch: one epoch is one step"),
]


def nanda(profile: str = "paper", **overrides) -> Config:
    """Nanda et al. (2023), *Progress measures for grokking*: a + b mod 113 with a
    1-layer transformer, 30 % train, full batch, AdamW lr 1e-3, wd 1, betas (0.9, 0.98),
    the loss computed in float64 as the authors do (``loss_dtype='float64'``; the
    quick-start also shows the float32 run, ``nanda(profile, loss_dtype='float32')``).

    ``quick`` keeps the architecture and optimiser but uses p = 59 with 50 %
    train, which groks in a fraction of the steps; ``smoke`` runs 40 steps.
    """
    config = {
        "paper": NANDA_PAPER,
        "quick": NANDA_PAPER.replace(p=59, frac_train=0.5, num_steps=3_000, eval_schedule="every:50"),
        "smoke": NANDA_PAPER.replace(p=23, frac_train=0.5, num_steps=40, eval_schedule="every:10"),
    }[check_profile(profile)]
    return config.replace(**overrides) if overrides else config


OMNIGROK_PAPER = Config(task="mnist", num_train=1000, model="mlp", widths=(200, 200), init_scale=8.0,
                        loss="mse", loss_reduction="mean", optimizer="adamw", lr=1e-3, weight_decay=0.01,
                        betas=(0.9, 0.999), warmup_steps=0, batch_size=200, num_steps=100_000,
                        eval_schedule="paper", grok_threshold=0.85, seed=0)

OMNIGROK_DEVIATIONS = [
    offline_mnist_deviation("official 10,000 test images"),
    Deviation("evaluation", "every 1,000 steps on 1,000 test images", "Part I's schedule on all 4,000 test images",
              "dense early evaluation shows the fit; more test images, less noise"),
    Deviation("grokking threshold", "not defined", "test accuracy 0.85",
              "fixed in advance from the paper's plateau (~0.9); never tuned per run"),
]


def omnigrok_mnist(profile: str = "paper", **overrides) -> Config:
    """Liu et al. (2023), *Omnigrok*, MNIST: MLP 784-200-200-10, every parameter × 8
    at init, MSE on one-hot targets, AdamW lr 1e-3, wd 0.01, 1,000 train images,
    batch 200, 100k steps.

    ``quick`` raises weight decay to 0.1, which groks several times sooner
    (Part I, Fig. 3) and stops at 20k steps; ``smoke`` runs 60 steps.
    """
    config = {
        "paper": OMNIGROK_PAPER,
        "quick": OMNIGROK_PAPER.replace(weight_decay=0.1, num_steps=20_000),
        "smoke": OMNIGROK_PAPER.replace(num_steps=60),
    }[check_profile(profile)]
    return config.replace(**overrides) if overrides else config


#: Part I (the authors' code) is Omnigrok's MNIST setup with a third hidden layer, the MSE summed
#: over classes and batch, minibatches of 100 and seeds from 42.
