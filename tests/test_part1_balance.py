"""Part I, Appendix A.4 (grokutils.part1.balance) on synthetic runs of Theorem 4.3's own setting whose
imbalance decays at weight decay's own rate: every number below follows from the curves by hand."""

import math

import numpy as np
import pytest

import grokutils as gu
from grokutils.part1 import balance
from grokutils.result import Result


def theory_run(lam: float, seed: int, rate_factor: float = 1.0, rnc1_at: float | None = None,
               start: float = 4.0, jitter: float = 1.0) -> Result:
    """‖D‖ = start·(1 − η·2λ)^(2t·rate_factor·jitter); RNC1 halves at ``rnc1_at`` (default: 2 × t_balance)."""
    config = gu.presets.collapse_theory("paper")[0].replace(weight_decay=2 * lam, seed=seed)
    steps = np.arange(0, 20_001, 50)
    per_step = 2 * math.log1p(-config.lr * config.weight_decay) * rate_factor * jitter
    imbalance = start * np.exp(per_step * steps)
    t_half = math.log(2) / -per_step
    rnc1_at = 2 * t_half if rnc1_at is None else rnc1_at
    rnc1 = 0.4 / (1 + np.exp((steps - rnc1_at) / 50))
    history = {"train_acc": np.where(steps >= 300, 1.0, 0.1), "test_acc": np.full(steps.shape, 0.9), "rnc1": rnc1,
               "imbalance": imbalance, "imbalance_relative": imbalance / (2 * start)}
    return Result(config, steps.tolist(), {k: np.asarray(v).tolist() for k, v in history.items()})


LAMBDAS = (3e-5, 1e-4, 3e-4)


def groups(**kwargs) -> dict[float, list[Result]]:
    return {lam: [theory_run(lam, seed, jitter=1 + 0.05 * (seed - 43), **kwargs) for seed in (42, 43, 44)]
            for lam in LAMBDAS}


def test_t_balance_is_weight_decays_half_life_on_a_pure_decay():
    run = theory_run(1e-4, 42)
    b = balance.balance(run)
    half = gu.metrics.balance.decay_half_life(0.5, 2e-4)
    assert b.decay_half_life == pytest.approx(half)
    assert half <= b.t_balance < half + 50  # the first evaluation at or past the half-life
    assert b.balanced_first and b.relative_start == pytest.approx(0.5)


def test_balancedness_claim_is_reproduced_when_balance_scales_as_one_over_lambda_and_comes_first():
    g = groups()
    slope = balance.balance_slope(g)
    assert slope[1] <= -1.0 <= slope[2] and slope[0] == pytest.approx(-1.0, abs=0.05)
    claim = balance.balance_claim(g)
    assert claim.id == "p1.propA.8" and claim.verdict == "reproduced", claim.measured
    # at λ = 3e-5 RNC1 halves at 2 × 11,550 steps, past the 20,000 of the runs: 6 runs have both events
    assert "6/6 runs" in claim.measured
    table = balance.balance_table(g)
    assert "| 0.0001 |" in table and "3/3" in table


def test_balance_after_rnc1_is_only_partly_and_a_lambda_free_balance_is_not():
    late = balance.balance_claim(groups(rnc1_at=100.0))  # RNC1 halves before any run balances
    assert late.verdict == "partly reproduced" and "0/9 runs" in late.measured
    flat = {lam: [theory_run(lam, s, rate_factor=1e-4 / lam, jitter=1 + 0.05 * (s - 43), rnc1_at=50.0)
                  for s in (42, 43, 44)] for lam in LAMBDAS}  # the same decay rate at every λ
    claim = balance.balance_claim(flat)
    assert balance.balance_slope(flat)[0] == pytest.approx(0.0, abs=0.05)
    assert claim.verdict == "not reproduced", claim.measured


def test_runs_without_the_metric_are_refused_by_name():
    run = theory_run(1e-4, 42)
    bare = Result(run.config.replace(metrics=("collapse",)), run.steps,
                  {k: v for k, v in run.history.items() if not k.startswith("imbalance")})
    with pytest.raises(ValueError, match="did not record the balancedness metric"):
        balance.balance(bare)
    assert balance.balance_claim({}).verdict == "not testable here"


def test_load_theory_keeps_every_seed_of_a_lambda(monkeypatch):
    runs = [theory_run(lam, seed) for seed in (42, 43, 44) for lam in LAMBDAS]  # seed-major, as the preset
    monkeypatch.setattr(gu.part1.load, "_load_or_train", lambda configs, store, progress: runs)
    groups = gu.part1.load_theory("paper", store=gu.ResultStore("/nonexistent-store"), progress=False)
    assert list(groups) == pytest.approx(list(LAMBDAS))
    assert [[r.config.seed for r in rs] for rs in groups.values()] == [[42, 43, 44]] * 3
