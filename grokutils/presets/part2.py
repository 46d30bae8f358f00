"""Part II's setups (Tan & Huang 2023, "Grokking through a robustness viewpoint"): Omnigrok's MNIST MLP and
Nanda et al.'s a + b mod 113 transformer, recording the robustness signals and the sharpness, standard and
with the two "degrokking" strategies (:mod:`grokutils.perturbation`).

The values the paper's text lost are chosen here once, before any Part II run, and listed in
:data:`ROBUSTNESS_DEVIATIONS`: the input-noise schedule σ_t = max(λ₁ (1 − train acc), λ₂) uses, as its floor
λ₂, the σ of the robustness metric's own probe (a ≈ 10 % perturbation of an image or of the token embeddings,
:data:`grokutils.metrics.robustness.SIGMA_IMAGE`, :data:`~grokutils.metrics.robustness.SIGMA_EMBEDDING`), and
ten times that before the training set is fitted (λ₁).
"""

from __future__ import annotations

from grokutils.config import Config
from grokutils.metrics.robustness import DEGROK_WEIGHT, SIGMA_EMBEDDING, SIGMA_IMAGE
from grokutils.presets.common import Deviation
from grokutils.presets.quickstart import nanda, omnigrok_mnist
from grokutils.profiles import check_profile

#: What every Part II run records at its evaluations (the numerical checks of Lemma 3.1 and Theorems 5.9 and
#: 5.12 included); the MNIST runs add the α ablation and the label information (Section 6, Appendix B), which
#: the paper measures on MNIST only.
ROBUSTNESS_METRICS = ("robustness", "sharpness", "robustness_bounds")
MNIST_METRICS = ROBUSTNESS_METRICS + ("information_ablation",)
#: Seeds of every arm (the issue asks for at least five).
ROBUSTNESS_SEEDS = (0, 1, 2, 3, 4)
#: Evaluations of the modular-addition paper runs: every 200 steps (the quick-start's Nanda run: every 100).
#: Each Part II evaluation measures the sharpness, the robustness signals and the bounds, ≈ 3 s on one CPU core.
MODULAR_EVAL_SCHEDULE = "every:200"
#: Every Part II evaluation schedule, by profile and task: the paper's MNIST runs keep the quick-start's dense
#: early schedule; quick and smoke evaluate sparsely so that a laptop (or CI) is not spending its time there.
EVAL_SCHEDULES = {"paper": {"mnist": "paper", "add": MODULAR_EVAL_SCHEDULE},
                  "quick": {"mnist": "every:500", "add": "every:100"},
                  "smoke": {"mnist": "every:20", "add": "every:20"}}
#: (λ₁, λ₂) of the input-noise schedule, per input space: 10 × and 1 × the robustness probe's σ.
NOISE_SCHEDULES = {"image": (10 * SIGMA_IMAGE, SIGMA_IMAGE), "embedding": (10 * SIGMA_EMBEDDING, SIGMA_EMBEDDING)}

ROBUSTNESS_DEVIATIONS = [
    Deviation("noise schedule λ₁, λ₂", "lost in the seed text",
              f"images {NOISE_SCHEDULES['image']}, token embeddings {NOISE_SCHEDULES['embedding']}",
              "λ₂ is the robustness metric's own probe σ (a ≈ 10 % perturbation), λ₁ ten times it; chosen once, "
              "before any Part II run"),
    Deviation("train accuracy in σ_t", "not stated", "the training accuracy of the run's last evaluation",
              "costs nothing and is the same on a resumed run"),
    Deviation("evaluations (a + b mod 113)", "not stated", f"{MODULAR_EVAL_SCHEDULE.split(':')[1]} steps apart",
              "each evaluation measures the sharpness (20 Hessian-vector products) and the robustness signals; "
              "t_grok is known to 200 of ≈ 7,000 steps"),
    Deviation("MNIST weight decay", "not stated", "0.01", "Omnigrok's MNIST setting, which the paper follows"),
    Deviation("train accuracy 100 %", "the fit", "train accuracy ≥ 0.99 (t_fit)",
              "the book's one definition of the fit"),
    Deviation("runs that do not grok", "used in Figures 10-11, not described",
              "the standard runs with weight decay 0, 2 seeds per task",
              "MID and ED must be compared with runs that fit and never grok"),
    Deviation("α of the ablation (Figure 12)", "lost", "0.5, 1 and 2, on 1,000 training and 1,000 test images",
              "one order below and one above the main figures' α = 1; chosen before the runs"),
    Deviation("sharpness estimate", "not stated", "Hutchinson, 20 Rademacher vectors on 1,000 training samples",
              "with its standard error; the exact trace on tiny models is a test"),
    Deviation("abelian regulariser c", f"{DEGROK_WEIGHT:g}", f"{DEGROK_WEIGHT:g}", "as reported"),
]


def _robustness(base: Config) -> Config:
    return base.replace(metrics=MNIST_METRICS if base.task == "mnist" else ROBUSTNESS_METRICS)


def robustness_runs(profile: str = "paper") -> dict[str, dict[str, list[Config]]]:
    """Part II's arms by task: ``{"mnist": {"standard", "perturbed"}, "add": {"standard", "perturbed",
    "abelian"}}``, each over :data:`ROBUSTNESS_SEEDS` (quick and smoke: one seed), every run recording
    :data:`ROBUSTNESS_METRICS` (MNIST: :data:`MNIST_METRICS`)."""
    seeds = ROBUSTNESS_SEEDS if check_profile(profile) == "paper" else ROBUSTNESS_SEEDS[:1]
    schedules = EVAL_SCHEDULES[check_profile(profile)]
    mnist = _robustness(omnigrok_mnist(profile)).replace(eval_schedule=schedules["mnist"])
    modular = _robustness(nanda(profile)).replace(eval_schedule=schedules["add"])
    image, embedding = NOISE_SCHEDULES["image"], NOISE_SCHEDULES["embedding"]
    arms = {"mnist": {"standard": mnist, "perturbed": mnist.replace(noise_scale=image[0], noise_floor=image[1])},
            "add": {"standard": modular,
                    "perturbed": modular.replace(noise_scale=embedding[0], noise_floor=embedding[1]),
                    "abelian": modular.replace(abelian_weight=DEGROK_WEIGHT)}}
    return {task: {arm: [c.replace(seed=s) for s in seeds] for arm, c in by_arm.items()}
            for task, by_arm in arms.items()}


def robustness_controls(profile: str = "paper") -> dict[str, list[Config]]:
    """Runs that do not grok, for MID and ED before the fit (Figures 10-11): each task's standard run without
    weight decay, on the first two seeds (quick and smoke: one)."""
    count = 2 if check_profile(profile) == "paper" else 1
    return {task: [c.replace(weight_decay=0.0) for c in arms["standard"][:count]]
            for task, arms in robustness_runs(profile).items()}
