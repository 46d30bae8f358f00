"""The optional early stop after grokking (``Config.stop_after_grok``; Part III trains "≤ 50,000 steps").

A run with ``stop_after_grok = k`` ends at its first evaluation at or after t_grok + k. The task here
is built by hand so that test accuracy crosses 0.95 within tens of steps: two well-separated Gaussian
blobs in R^4 (shaped as 2×2 one-channel images) and an MLP of width 8. With lr 3e-3 its seeds cross at
different steps (seed 3 not within 40 steps), so sweep members stop at different evaluations.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import grokutils as gu
from grokutils.config import LATER_FIELDS, Config
from grokutils.result import Result, stop_step
from grokutils.runs import run, run_sweep
from grokutils.sweep import SWEEPABLE, check_same_shape, train_sweep
from grokutils.train import train
from conftest import Interrupt

NEVER = 3  # the seed whose test accuracy stays below 0.95 for 40 steps


@pytest.fixture(scope="module")
def blobs() -> gu.data.Dataset:
    """64 train and 64 test points of two Gaussian blobs (centres ±(1, 1, −1, −1), σ = 0.5)."""
    g = torch.Generator().manual_seed(0)

    def draw(n):
        y = torch.arange(n) % 2
        centre = torch.tensor([[1.0, 1.0, -1.0, -1.0], [-1.0, -1.0, 1.0, 1.0]])[y]
        return (centre + 0.5 * torch.randn(n, 4, generator=g)).view(n, 1, 2, 2), y

    (x_train, y_train), (x_test, y_test) = draw(64), draw(64)
    return gu.data.Dataset(x_train, y_train, x_test, y_test, num_classes=2)


def blob_config(**changes) -> Config:
    """An MLP of width 8 on :func:`blobs`, full batch, 40 steps evaluated at every step."""
    base = Config(task="mnist", model="mlp", widths=(8,), lr=3e-3, weight_decay=0.0, warmup_steps=0,
                  num_steps=40, eval_schedule="every:1", device="cpu")
    return base.replace(**changes)


def uses_blobs(monkeypatch, blobs):
    """Make :func:`grokutils.data.load` (used by run, run_sweep, train, train_sweep) return the blobs."""
    monkeypatch.setattr(gu.data, "load", lambda config: blobs)


@pytest.fixture(scope="module")
def full_runs(blobs) -> dict[int, Result]:
    """The runs without early stop (every:1, norm trace recorded), by seed."""
    return {seed: train(blob_config(seed=seed, metrics=("norm_trace",)), dataset=blobs, progress=False)
            for seed in (0, 2, 5, NEVER)}


def assert_prefix(stopped: Result, full: Result, atol: float = 1e-6) -> None:
    """``stopped`` recorded exactly the first evaluations of ``full`` (wall time aside)."""
    n = len(stopped.steps)
    assert stopped.steps == full.steps[:n]
    assert sorted(stopped.history) == sorted(full.history)
    for name in stopped.history:
        if name != "wall_time":
            np.testing.assert_allclose(stopped.history[name], full.history[name][:n], rtol=1e-4, atol=atol,
                                       err_msg=name)
    if full.norm_trace is not None and stopped.norm_trace is not None:
        assert stopped.norm_trace.shape == (stopped.steps[-1] + 1,)
        np.testing.assert_allclose(stopped.norm_trace, full.norm_trace[:stopped.steps[-1] + 1], rtol=1e-5)


# ---------------------------------------------------------------- the Config
def test_the_default_leaves_every_stored_key_and_label_unchanged():
    assert Config().stop_after_grok is None and LATER_FIELDS["stop_after_grok"] is None
    assert Config(stop_after_grok=None).key() == Config().key()
    store = gu.store_for("paper")
    for config in (gu.presets.nanda("paper"), gu.presets.nanda("paper", loss_dtype="float32"),
                   gu.presets.omnigrok_mnist("paper")):
        assert store.path(config).exists(), store.path(config).name  # the quick-start results
    assert gu.presets.nanda("paper", loss_dtype="float32").key() == "b067d4aba3566786"  # keyed as before
    assert gu.presets.nanda("paper").key() == "612331a3a3a7b2e3"  # its float64 loss, stored since
    assert gu.presets.nanda("paper").replace(stop_after_grok=2000).label() == gu.presets.nanda("paper").label()


def test_a_set_value_enters_the_key():
    keys = {Config().key(), Config(stop_after_grok=0).key(), Config(stop_after_grok=2000).key()}
    assert len(keys) == 3


INVALID = [
    (dict(stop_after_grok=-1), "-1", "None or an integer >= 0"),
    (dict(stop_after_grok=1.5), "1.5", "None or an integer >= 0"),
    (dict(stop_after_grok=100.0), "100.0", "None or an integer >= 0"),
    (dict(stop_after_grok="100"), "'100'", "None or an integer >= 0"),
    (dict(stop_after_grok=True), "True", "None or an integer >= 0"),
    (dict(stop_after_grok=0, mixing_alpha=0.1, norm_matched=True, metrics=("norm_trace",)), "0",
     "None when norm_matched=True"),
]


@pytest.mark.parametrize("changes, shown, allowed", INVALID, ids=[str(c) for c, *_ in INVALID])
def test_invalid_values_raise_naming_field_value_and_what_is_allowed(changes, shown, allowed):
    with pytest.raises(ValueError) as info:
        Config(**changes)
    message = str(info.value)
    assert "Config.stop_after_grok" in message and shown in message and allowed in message


def test_a_norm_matched_control_and_its_baseline_never_stop_early():
    """The control follows its baseline's norm after every step up to num_steps, so neither may stop:
    the control refuses stop_after_grok, and its baseline inherits the control's None."""
    control = Config(mixing_alpha=0.1, norm_matched=True, metrics=("norm_trace",))
    assert control.baseline().stop_after_grok is None
    with pytest.raises(ValueError, match="its baseline"):
        control.replace(stop_after_grok=100)
    assert Config(mixing_alpha=0.1, stop_after_grok=100).stop_after_grok == 100  # mixing alone may stop


def test_a_stopped_run_cannot_serve_as_a_baseline_trace(blobs):
    stopped = train(blob_config(seed=0, stop_after_grok=0, metrics=("norm_trace",)), dataset=blobs, progress=False)
    control = blob_config(seed=0, mixing_alpha=0.1, norm_matched=True, metrics=("norm_trace",))
    with pytest.raises(ValueError, match="stop_after_grok"):
        train(control, dataset=blobs, progress=False, baseline_norm_trace=stopped.norm_trace)


@pytest.mark.parametrize("k", [None, 0, 1, 50_000])
def test_valid_values(k):
    assert Config(stop_after_grok=k).stop_after_grok == k


def test_glossary_and_sweepable():
    assert "t_grok" in gu.glossary.GLOSSARY["stop_after_grok"]
    assert "stop_after_grok" in SWEEPABLE
    check_same_shape([blob_config(), blob_config(seed=1, stop_after_grok=0), blob_config(stop_after_grok=7)])


# --------------------------------------------------------------- the rule
STEPS = [0, 5, 10, 15, 20]


@pytest.mark.parametrize("k, test_acc, expected", [
    (None, [0, 0, 1, 1, 1], None),
    (0, [0, 0, 1, 1, 1], 10),  # t_grok itself
    (3, [0, 0, 1, 1, 1], 15),  # the first evaluation at or after t_grok + 3 = 13
    (5, [0, 0, 1, 1, 1], 15),
    (10, [0, 0, 1, 1, 1], 20),
    (11, [0, 0, 1, 1, 1], None),  # not yet: t_grok + 11 = 21 is after every evaluation
    (0, [0, 0.94, 0.9, 0.99, 1], 15),  # below 0.95 does not count, and a later dip does not undo t_grok
    (0, [0, 1, 0.5, 0.5, 0.5], 5),
    (0, [0, 0, 0, 0, 0.5], None),
])
def test_stop_step_is_the_first_evaluation_at_or_after_t_grok_plus_k(k, test_acc, expected):
    config = blob_config(stop_after_grok=k, num_steps=20)
    assert stop_step(config, STEPS, test_acc) == expected
    assert stop_step(config, [], []) is None
    result = Result(config, STEPS, {"test_acc": test_acc, "train_acc": [1.0] * 5})
    assert result.stop_step == expected
    if expected is not None:  # t_grok is the one of grokutils.result / grokutils.report
        assert result.t_grok <= expected and expected - result.t_grok >= k


def hand_made(steps, test_acc, k, num_steps=20) -> Result:
    n = len(steps)
    history = {"train_acc": [1.0] * n, "test_acc": test_acc, "train_loss": [0.1] * n, "test_loss": [0.1] * n,
               "weight_norm": [1.0] * n, "wall_time": [float(s) for s in steps]}
    return Result(blob_config(stop_after_grok=k, num_steps=num_steps), steps, history,
                  {"train_s": 1.0, "eval_s": 0.5, "ms_per_step": 2.0}, {"device": "cpu"})


def test_complete_and_ended_early():
    stopped = hand_made([0, 5, 10, 15], [0, 0, 1, 1], k=3)
    assert stopped.ended_early and stopped.complete
    assert not hand_made([0, 5, 10, 15, 20], [0, 0, 1, 1, 1], k=3).complete  # trained past its stop
    assert not hand_made([0, 5, 10], [0, 0, 1], k=3).complete  # cut before its stop
    assert not hand_made([0, 5, 10], [0, 0, 0], k=3).complete  # cut without grokking
    full = hand_made(STEPS, [0, 0, 0, 0, 0], k=3)
    assert full.complete and not full.ended_early
    late = hand_made(STEPS, [0, 0, 0, 1, 1], k=5)  # stops at num_steps: complete, but not early
    assert late.complete and not late.ended_early
    assert hand_made(STEPS, [0] * 5, k=None).complete and not hand_made([0, 5], [0, 0], k=None).complete


def test_report_says_where_a_run_stopped():
    stopped = hand_made([0, 5, 10, 15], [0, 0, 1, 1], k=3)
    check = gu.report.grokking_check(stopped)
    assert check.stopped_at == 15 and "stopped early at step 15" in check.sentence()
    assert gu.report.grokking_check(hand_made(STEPS, [0, 0, 1, 1, 1], k=None)).stopped_at is None
    assert "| 15 |" in gu.report.timings_table([stopped])  # the steps trained, not num_steps


# -------------------------------------------------------------- single runs
@pytest.mark.parametrize("seed, k", [(0, 3), (2, 0), (5, 1)])
def test_a_run_ends_at_the_first_evaluation_at_or_after_t_grok_plus_k(blobs, full_runs, seed, k):
    full = full_runs[seed]
    assert full.t_grok is not None and full.t_grok + k < full.config.num_steps
    result = train(blob_config(seed=seed, stop_after_grok=k, metrics=("norm_trace",)), dataset=blobs,
                   progress=False)
    assert result.steps[-1] == full.t_grok + k == result.t_grok + k
    assert result.ended_early and result.complete
    assert_prefix(result, full)
    assert result.timings["ms_per_step"] == pytest.approx(1000 * result.timings["train_s"] / result.steps[-1])
    assert gu.metrics.weight_norm(result.model) == pytest.approx(result.history["weight_norm"][-1], rel=1e-6)


def test_the_stop_waits_for_the_next_scheduled_evaluation(blobs, full_runs):
    coarse = train(blob_config(seed=0, eval_schedule="every:5"), dataset=blobs, progress=False)
    result = train(blob_config(seed=0, eval_schedule="every:5", stop_after_grok=3), dataset=blobs, progress=False)
    assert coarse.t_grok % 5 == 0 and result.steps[-1] == coarse.t_grok + 5
    assert_prefix(result, coarse)


def test_a_run_that_never_groks_trains_all_num_steps(blobs, full_runs):
    result = train(blob_config(seed=NEVER, stop_after_grok=0, metrics=("norm_trace",)), dataset=blobs,
                   progress=False)
    assert result.t_grok is None and result.steps[-1] == 40 and result.complete and not result.ended_early
    assert_prefix(result, full_runs[NEVER])
    assert result.norm_trace.shape == (41,)


def outcome(result: Result) -> tuple:
    """What a resumed run must reproduce exactly (``env`` holds the time it finished)."""
    return result.steps, result.history, result.timings


def test_resume_before_and_after_the_stop(tmp_path, blobs, full_runs):
    config = blob_config(seed=0, stop_after_grok=3, metrics=("norm_trace",))
    reference = train(config, dataset=blobs, progress=False)
    stop = reference.steps[-1]
    checkpoint = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):  # interrupted before the stop
        train(config, dataset=blobs, callbacks=[Interrupt(stop - 5)], progress=False,
              checkpoint_path=checkpoint, checkpoint_every_s=0)
    resumed = train(config, dataset=blobs, progress=False, checkpoint_path=checkpoint, checkpoint_every_s=0)
    assert_prefix(resumed, reference)
    assert resumed.steps == reference.steps
    assert torch.load(checkpoint, weights_only=True)["steps"][-1] == stop  # saved at the stop evaluation
    seen = []  # resumed after the stop: nothing left to train or evaluate
    again = train(config, dataset=blobs, callbacks=[lambda c: seen.append(c.step) or {}], progress=False,
                  checkpoint_path=checkpoint, checkpoint_every_s=0)
    assert seen == [] and outcome(again) == outcome(resumed)
    np.testing.assert_array_equal(again.norm_trace, resumed.norm_trace)
    for name, tensor in again.model.state_dict().items():
        torch.testing.assert_close(tensor, resumed.model.state_dict()[name], rtol=0, atol=0)


def test_the_store_keeps_a_stopped_run_and_its_short_trace(store, monkeypatch, blobs):
    uses_blobs(monkeypatch, blobs)
    config = blob_config(seed=0, stop_after_grok=2, metrics=("norm_trace",))
    result = run(config, store, progress=False)
    assert result.ended_early and np.load(store.norm_trace_path(config)).shape == (result.steps[-1] + 1,)
    monkeypatch.setattr(gu.train, "train", lambda *a, **k: pytest.fail("trained although stored"))
    loaded = run(config, store, progress=False)
    assert loaded == result and loaded.complete
    np.testing.assert_array_equal(loaded.norm_trace, result.norm_trace)
    np.save(store.norm_trace_path(config), np.ones(config.num_steps + 1, dtype=np.float32))
    with pytest.warns(gu.runs.CorruptResultWarning, match=rf"not \({result.steps[-1] + 1},\)"):
        assert store.load(config) is None  # a trace of the wrong length is moved aside: the run is recomputed
    assert store.norm_trace_path(config).with_name(store.norm_trace_path(config).name + ".corrupt").exists()


# ------------------------------------------------------------------- sweeps
def sweep_configs() -> list[Config]:
    """Seeds that grok at different steps, one that never does, one without the stop, one with k = 0."""
    return [blob_config(seed=0, stop_after_grok=3), blob_config(seed=2, stop_after_grok=3),
            blob_config(seed=5, stop_after_grok=0), blob_config(seed=NEVER, stop_after_grok=3),
            blob_config(seed=5), blob_config(seed=0, stop_after_grok=1, weight_decay=0.5)]


def with_trace(configs: list[Config]) -> list[Config]:
    return [c.replace(metrics=("norm_trace",)) for c in configs]


def test_sweep_members_stop_independently_and_equal_single_runs(blobs, histories_close):
    configs = with_trace(sweep_configs())
    together = train_sweep(configs, dataset=blobs, progress=False)
    ends = [r.steps[-1] for r in together]
    assert len(set(ends[:3])) == 3 and ends[3] == ends[4] == 40  # stops at different steps; two run on
    for config, result in zip(configs, together):
        alone = train(config, dataset=blobs, progress=False)
        histories_close(result, alone, rtol=1e-4, atol=1e-5)
        assert result.complete and result.ended_early == (result.steps[-1] < 40)
        np.testing.assert_allclose(result.norm_trace, alone.norm_trace, rtol=1e-5)
        assert result.timings["train_s"] <= together[3].timings["train_s"]


def test_a_sweep_ends_when_every_member_has_stopped(blobs, histories_close):
    configs = [c for c in sweep_configs() if c.seed != NEVER and c.stop_after_grok is not None]
    seen = []
    together = train_sweep(configs, dataset=blobs, callbacks=[lambda c: seen.append((c.config, c.step)) or {}],
                           progress=False)
    last = max(r.steps[-1] for r in together)
    assert last < 40 and max(step for _, step in seen) == last
    for config, result in zip(configs, together):  # a stopped member is no longer evaluated
        assert [step for c, step in seen if c == config] == result.steps
        histories_close(result, train(config, dataset=blobs, progress=False), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("interrupt_at", [8, 33], ids=["before-the-stops", "after-most-stops"])
def test_sweep_resume(tmp_path, blobs, histories_close, interrupt_at):
    configs = with_trace(sweep_configs())
    reference = train_sweep(configs, dataset=blobs, progress=False)
    checkpoint = tmp_path / "sweep.pt"
    with pytest.raises(KeyboardInterrupt):
        train_sweep(configs, dataset=blobs, callbacks=[Interrupt(interrupt_at)], progress=False,
                    checkpoint_path=checkpoint, checkpoint_every_s=0)
    resumed = train_sweep(configs, dataset=blobs, progress=False, checkpoint_path=checkpoint, checkpoint_every_s=0)
    for a, b in zip(resumed, reference):
        histories_close(a, b, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(a.norm_trace, b.norm_trace, rtol=1e-6)


def test_a_sweep_resumed_after_every_stop_trains_nothing(tmp_path, blobs):
    configs = [c for c in sweep_configs() if c.seed != NEVER and c.stop_after_grok is not None]
    checkpoint = tmp_path / "sweep.pt"
    first = train_sweep(configs, dataset=blobs, progress=False, checkpoint_path=checkpoint, checkpoint_every_s=0)
    seen = []
    again = train_sweep(configs, dataset=blobs, callbacks=[lambda c: seen.append(c.step) or {}], progress=False,
                        checkpoint_path=checkpoint, checkpoint_every_s=0)
    assert seen == [] and [outcome(r) for r in again] == [outcome(r) for r in first]


def test_run_sweep_stores_members_that_stopped(store, monkeypatch, blobs):
    uses_blobs(monkeypatch, blobs)
    configs = with_trace(sweep_configs()[:4])
    results = run_sweep(configs, store, progress=False)
    assert [r.config for r in results] == configs and any(r.ended_early for r in results)
    monkeypatch.setattr(gu.sweep, "train_sweep", lambda *a, **k: pytest.fail("trained although stored"))
    for result, loaded in zip(results, run_sweep(configs, store, progress=False)):
        assert loaded == result and loaded.complete
        np.testing.assert_array_equal(loaded.norm_trace, result.norm_trace)
