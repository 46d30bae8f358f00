"""Part IV's grokking setup (Han et al. 2025, "Flatness is Necessary, Neural Collapse is Not", Figure 1) and
the rule that chooses the CPU-sized version of it.

The paper trains Power et al.'s 2-layer transformer on x + y mod 97 with AdamW at lr 1e-4 for 10⁶ steps,
which a 2-core CPU cannot afford for three seeds. The book changes as little as it must, in a fixed order
(:data:`FLATNESS_CANDIDATES`: first the learning rate, then the train fraction), trains 3 seeds of each
candidate within :data:`FLATNESS_BUDGET` steps, and keeps the first candidate in which every seed groks (it
generalises late, :func:`grokutils.grokking.generalises_late`): :func:`chosen_candidate`. The rule was
written before any of these runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from grokutils.config import Config
from grokutils.grokking import generalises_late
from grokutils.presets.common import Deviation
from grokutils.presets.part3 import SPECTRAL_PAPER
from grokutils.profiles import check_profile

if TYPE_CHECKING:
    from grokutils.result import Result

#: The paper's setup (Section 4; Power et al. 2022's transformer and optimiser; batch 512 and 10 warm-up steps
#: as in Power et al., which the paper follows; 3 seeds).
FLATNESS_PAPER = Config(task="add", p=97, frac_train=0.5, model="transformer", num_layers=2, d_model=128,
                        num_heads=4, d_mlp=512, loss="cross_entropy", optimizer="adamw", lr=1e-4, weight_decay=1.0,
                        betas=(0.9, 0.98), warmup_steps=10, batch_size=512, num_steps=1_000_000,
                        eval_schedule="every:200", grok_threshold=0.95,
                        metrics=("flatness", "collapse", "flatness_theory"), seed=0)
#: The changes tried, smallest first: (learning rate, train fraction).
FLATNESS_CANDIDATES = ((1e-3, 0.5), (1e-3, 0.4), (1e-3, 0.3))
#: Steps each candidate may use, and how long a run continues after it groks (to see κ settle).
FLATNESS_BUDGET = 30_000
FLATNESS_STOP_AFTER_GROK = 5_000
FLATNESS_SEEDS = (0, 1, 2)

FLATNESS_DEVIATIONS = [
    Deviation("learning rate and train fraction", "1e-4, 50 / 50 split, 10⁶ steps",
              f"the first of {', '.join(f'(lr {lr:g}, fraction {f:g})' for lr, f in FLATNESS_CANDIDATES)} in which "
              f"all 3 seeds grok within {FLATNESS_BUDGET:,} steps",
              "10⁶ steps × 3 seeds do not fit a 2-core CPU; the order of the candidates and the rule were fixed "
              "before any run"),
    Deviation("batch size, warm-up", "not stated (Power et al.'s setup)", "512, 10 steps", "Power et al. (2022)"),
    Deviation("evaluations", "not stated", "every 200 steps: NCC, κ, its bound and the class-mean angles on the "
              "whole training split; Part I's RNC1 and NC1; Lemma A.2 and Appendix D's representativeness on "
              "1,000-sample probes", "the measures of Figure 1 at a resolution of 1 % of the budget, and on the "
              "same runs the collapse measure of the rival Part I and the representativeness of Figure 8"),
]


def flatness_candidates(profile: str = "paper") -> dict[tuple[float, float], list[Config]]:
    """Every candidate of :data:`FLATNESS_CANDIDATES` over :data:`FLATNESS_SEEDS` (quick: the first candidate,
    one seed, at most 3,000 steps, stopped 1,000 after it groks; smoke: 40 steps on p = 23), keyed
    ``(lr, frac)``."""
    p = check_profile(profile)
    base = FLATNESS_PAPER.replace(num_steps=FLATNESS_BUDGET, stop_after_grok=FLATNESS_STOP_AFTER_GROK)
    if p == "paper":
        return {(lr, frac): [base.replace(lr=lr, frac_train=frac, seed=s) for s in FLATNESS_SEEDS]
                for lr, frac in FLATNESS_CANDIDATES}
    lr, frac = FLATNESS_CANDIDATES[0]
    small = (base.replace(num_steps=3_000, eval_schedule="every:100", stop_after_grok=1_000) if p == "quick"
             else base.replace(p=23, num_steps=40, eval_schedule="every:10", stop_after_grok=None, batch_size=None))
    return {(lr, frac): [small.replace(lr=lr, frac_train=frac)]}


def chosen_candidate(groks: Mapping[tuple[float, float], Sequence[bool]]) -> tuple[float, float] | None:
    """The rule: the first candidate, in the order of :data:`FLATNESS_CANDIDATES`, in which every seed groks
    (``groks[candidate]``: one flag per seed); None when none does."""
    for candidate in FLATNESS_CANDIDATES:
        flags = groks.get(candidate)
        if flags and all(flags):
            return candidate
    return None


def candidate_settled(tried: Sequence[Sequence[Result | None]]) -> bool:
    """Whether the rule has chosen a candidate from ``tried`` (the stored runs of the candidates trained so far,
    in order; None for a run not stored): then the candidates after it are not needed, and are not trained."""
    groks = {(runs[0].config.lr, runs[0].config.frac_train): [generalises_late(r) for r in runs]
             for runs in tried if runs and all(r is not None for r in runs)}
    return chosen_candidate(groks) is not None


# ----------------------------------------------------------------------------------------------
# Sections 5 and 6 on the offline MNIST: the NCC regulariser and the flatness regulariser with unplugging
# ----------------------------------------------------------------------------------------------

#: The paper's recipe for its causal experiments (Appendix B: SGD lr 0.01, momentum 0.9, batch 64, no weight
#: decay, no schedule; seeds 1, 42, 15213), on the book's offline MNIST with a plain MLP (the paper: ResNet-18
#: and ResNet-10 on CIFAR-10, which a CPU cannot train 250 and 650 epochs of; their code paths exist).
CAUSAL_MNIST = Config(task="mnist", num_train=1000, model="mlp", widths=(200, 200), init_scale=1.0,
                      loss="cross_entropy", optimizer="sgd", lr=0.01, momentum=0.9, weight_decay=0.0, warmup_steps=0,
                      batch_size=64, eval_schedule="every:80", grok_threshold=0.85, metrics=("flatness",), seed=1)
#: The paper's seeds 1, 42, 15213 and two more: with three runs per arm an exact one-sided rank test cannot reach
#: p < 0.05 (its smallest p is 1/C(6, 3) = 0.05; grokutils.verdicts.rank_test_can_reject), five can (1/252).
CAUSAL_SEEDS = (1, 42, 15213, 0, 2)
#: Steps per epoch of 1,000 images in batches of 64 (the last batch smaller), and the paper's epochs.
STEPS_PER_EPOCH = 16
NCC_EPOCHS, FLATNESS_EPOCHS, UNPLUG_EPOCH = 250, 650, 100
NCC_WEIGHT, NCC_ABLATION, FLATNESS_WEIGHT = 1e-3, (1e-2, 1e-4, 1e-5, 1e-6), 1e-4

CAUSAL_DEVIATIONS = [
    Deviation("network and data", "ResNet-18 (Section 5) and ResNet-10 (Section 6) on CIFAR-10",
              "an MLP 784-200-200-10 on the offline MNIST (1,000 training images)",
              "the CIFAR runs take hours on a GPU per seed; Config(model='resnet18'/'resnet10', task='cifar10') "
              "runs them where torchvision, the data and a GPU exist"),
    Deviation("the NCC in the regulariser", "Definition 3.1's sum form (the authors' code averages)",
              "the authors' averaged form (grokutils.regularisers.REGULARISER_NCC_AVERAGED)",
              "λ = 1e-3 was set with their code; the sum form is K(K − 1)·n_c ≈ 580 times larger at batch 64 and "
              "made the MLP diverge within 80 steps (measured before any stored run)"),
    Deviation("epochs", f"{NCC_EPOCHS} (Section 5), {FLATNESS_EPOCHS} with the regulariser removed after epoch "
              f"{UNPLUG_EPOCH} (Section 6)", f"the same epochs of 1,000 images ({STEPS_PER_EPOCH} steps each)",
              "as reported"),
    Deviation("seeds", "3 (1, 42, 15213)", "5 (1, 42, 15213, 0, 2)",
              "with 3 runs per arm no one-sided rank test can reach p < 0.05 (smallest p = 1/C(6, 3) = 0.05), so "
              "no effect could be shown; the 2 seeds were added after the 3-seed runs, before any Part IV page "
              "entered the book, and the criteria did not change"),
]


def _causal(profile: str, epochs: int) -> Config:
    p = check_profile(profile)
    steps = {"paper": epochs * STEPS_PER_EPOCH, "quick": epochs * STEPS_PER_EPOCH // 5, "smoke": epochs // 10}[p]
    return CAUSAL_MNIST.replace(num_steps=steps, eval_schedule="every:10" if p == "smoke" else "every:80")


def _seeds(profile: str) -> tuple[int, ...]:
    return CAUSAL_SEEDS if check_profile(profile) == "paper" else CAUSAL_SEEDS[:1]


def ncc_regulariser_runs(profile: str = "paper") -> dict[str, list[Config]]:
    """Section 5 and Appendix B on MNIST: ``{"baseline", "λ = 0.001", …}``: the plain run and CE − λ·NCC at
    :data:`NCC_WEIGHT` and every :data:`NCC_ABLATION` value (quick and smoke: the baseline and λ = 1e-3), over
    :data:`CAUSAL_SEEDS` (quick and smoke: one)."""
    base = _causal(profile, NCC_EPOCHS)
    weights = (NCC_WEIGHT, *NCC_ABLATION) if check_profile(profile) == "paper" else (NCC_WEIGHT,)
    arms = {"baseline": base, **{f"λ = {w:g}": base.replace(ncc_weight=w) for w in weights}}
    return {name: [c.replace(seed=s) for s in _seeds(profile)] for name, c in arms.items()}


def flatness_regulariser_runs(profile: str = "paper") -> dict[str, list[Config]]:
    """Section 6 and Appendix C on MNIST: ``{"baseline", "regularised"}``, CE − λ·κ with λ =
    :data:`FLATNESS_WEIGHT` removed after epoch :data:`UNPLUG_EPOCH` (the same fraction of a shorter quick and
    smoke run), over :data:`CAUSAL_SEEDS` (quick and smoke: one)."""
    base = _causal(profile, FLATNESS_EPOCHS)
    unplug = max(1, base.num_steps * UNPLUG_EPOCH // FLATNESS_EPOCHS)
    arms = {"baseline": base, "regularised": base.replace(flatness_weight=FLATNESS_WEIGHT, unplug_step=unplug)}
    return {name: [c.replace(seed=s) for s in _seeds(profile)] for name, c in arms.items()}


# ----------------------------------------------------------------------------------------------
# Sections 5 and 6 on modular arithmetic, a task that groks
# ----------------------------------------------------------------------------------------------

#: The regularisers on a run that groks: Part III's one-layer transformer on x + y mod 97 (30 % split, AdamW lr 1e-3,
#: weight decay 1), which groks at 4,600-13,600 steps in Part III's ten stored runs, so that Section 6's "validation
#: stays low while the regulariser is on, and rises after it is removed" has a delay to lengthen (the MNIST MLP of
#: :data:`CAUSAL_MNIST` generalises before it fits). Each run stops 2,000 steps after grokking, within 20,000.
MODULAR_CAUSAL = SPECTRAL_PAPER.replace(metrics=("flatness",), stop_after_grok=2_000)
#: The λ of the modular NCC arms: the paper's 1e-3 and the largest of its ablation.
MODULAR_NCC_WEIGHTS = (NCC_WEIGHT, 1e-2)
#: The unplug step: 15 % of the budget, as the paper's 100 of 650 epochs, before any of Part III's runs groks.
MODULAR_UNPLUG = 3_000
MODULAR_SEEDS = (0, 1, 2, 3, 4)

MODULAR_DEVIATIONS = [
    Deviation("task and network", "ResNets on CIFAR-10",
              "Part III's one-layer transformer on x + y mod 97 (30 % split), AdamW lr 1e-3, weight decay 1, 5 seeds",
              "an offline task that groks: it gives Section 6 a delay to lengthen"),
    Deviation("unplug step", "epoch 100 of 650", f"step {MODULAR_UNPLUG:,} of 20,000",
              "the same 15 % of the budget, before any stored run of this setup groks"),
]


def _modular(profile: str) -> Config:
    p = check_profile(profile)
    steps, schedule = {"paper": (20_000, "every:200"), "quick": (8_000, "every:200"), "smoke": (30, "every:10")}[p]
    return MODULAR_CAUSAL.replace(num_steps=steps, eval_schedule=schedule,
                                  stop_after_grok=MODULAR_CAUSAL.stop_after_grok if p != "smoke" else 0)


def _modular_seeds(profile: str) -> tuple[int, ...]:
    return MODULAR_SEEDS if check_profile(profile) == "paper" else MODULAR_SEEDS[:1]


def modular_ncc_runs(profile: str = "paper") -> dict[str, list[Config]]:
    """Section 5 on x + y mod 97: ``{"baseline", "λ = 0.001", "λ = 0.01"}`` (:data:`MODULAR_NCC_WEIGHTS`; quick and
    smoke: the baseline and λ = 1e-3), over :data:`MODULAR_SEEDS` (quick and smoke: one)."""
    base = _modular(profile)
    weights = MODULAR_NCC_WEIGHTS if check_profile(profile) == "paper" else MODULAR_NCC_WEIGHTS[:1]
    arms = {"baseline": base, **{f"λ = {w:g}": base.replace(ncc_weight=w) for w in weights}}
    return {name: [c.replace(seed=s) for s in _modular_seeds(profile)] for name, c in arms.items()}


def modular_flatness_runs(profile: str = "paper") -> dict[str, list[Config]]:
    """Section 6 on x + y mod 97: ``{"baseline", "regularised"}``, CE − λ·κ with λ = :data:`FLATNESS_WEIGHT` removed at
    :data:`MODULAR_UNPLUG` (the same 15 % of a quick or smoke run). The baseline is :func:`modular_ncc_runs`' own."""
    base = _modular(profile)
    unplug = MODULAR_UNPLUG if check_profile(profile) == "paper" else max(1, base.num_steps * 15 // 100)
    regularised = base.replace(flatness_weight=FLATNESS_WEIGHT, unplug_step=unplug)
    return {"baseline": modular_ncc_runs(profile)["baseline"],
            "regularised": [regularised.replace(seed=s) for s in _modular_seeds(profile)]}


# ----------------------------------------------------------------------------------------------
# Exploratory: Part I's collapse and the invariant quadratic form on Section 5's runs
# ----------------------------------------------------------------------------------------------

#: What the exploratory re-runs record: Part IV's measures, Part I's RNC1 (``collapse``) and wᵀHw
#: (``flatness_invariant``). Metrics only evaluate, so each re-run trains exactly as the stored run of its arm.
PROBE_METRICS = ("flatness", "collapse", "flatness_invariant")


def collapse_probe_runs(profile: str = "paper") -> dict[str, dict[str, list[Config]]]:
    """Exploratory, added after Section 5's verdicts (judged by none): ``{task: {arm: [config, …]}}``, the baseline and
    the strongest NCC arm of :func:`ncc_regulariser_runs` (MNIST) and :func:`modular_ncc_runs` (x + y mod 97) —
    λ = 1e-2 in ``paper``, 1e-3 in quick and smoke — re-run recording :data:`PROBE_METRICS`, which the stored runs
    lack: whether Part I's collapse moves with NCC, and whether the function is sharper or only rescaled."""
    probes = {}
    for task, preset in (("MNIST", ncc_regulariser_runs), ("x + y mod 97", modular_ncc_runs)):
        arms = preset(profile)
        strongest = max((arm for arm in arms if arm != "baseline"), key=lambda arm: arms[arm][0].ncc_weight)
        probes[task] = {arm: [c.replace(metrics=PROBE_METRICS) for c in arms[arm]] for arm in ("baseline", strongest)}
    return probes
