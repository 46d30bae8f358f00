"""Part III, claim 3: representation mixing, the norm-matched control and the baseline's norm trace.

Tiny models on a + b mod 7 (a few steps each): the mixed loss against a hand-written closed form,
the single-run loop against the sweep engine, norm matching after every step, resume, the store.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import grokutils as gu
from grokutils import intervention
from grokutils.config import Config
from grokutils.runs import MissingResult, run, run_sweep
from grokutils.sweep import train_sweep
from grokutils.train import objective, train, training_loss
from conftest import Interrupt


def tiny(**changes) -> Config:
    """a + b mod 7, 1-layer transformer of width 16, full batch, 8 steps evaluated at every step."""
    base = gu.presets.nanda("smoke", p=7, d_model=16, num_heads=2, d_mlp=32, num_steps=8,
                            eval_schedule="every:1", warmup_steps=2, metrics=("norm_trace",), device="cpu")
    if changes.get("model") == "mlp":  # the MLP reads neither attention heads nor the transformer's MLP width
        changes = {"num_heads": Config.num_heads, "d_mlp": Config.d_mlp, **changes}
    return base.replace(**changes)


def tiny_mlp(**changes) -> Config:
    """The embedding MLP of Part III, claim 7 on a + b mod 7, minibatches of 8."""
    return tiny(model="mlp", widths=(16,), batch_size=8, eval_schedule="every:2", **changes)


@pytest.fixture(scope="module")
def baseline_result():
    return train(tiny(), progress=False)


# ---------------------------------------------------------------- the Config
def test_defaults_leave_every_stored_key_unchanged():
    assert Config().mixing_alpha == 0.0 and Config().norm_matched is False
    assert Config(mixing_alpha=0).key() == Config(mixing_alpha=0.0).key() == Config().key()
    assert Config(mixing_alpha=0).label() == Config().label()
    # the key of the stored quick-start result, results/add113-transformer-wd1-s0-b067d4aba3566786.json
    assert gu.presets.nanda("paper", loss_dtype="float32").key() == "b067d4aba3566786"
    assert gu.presets.nanda("paper", loss_dtype="float32").replace(mixing_alpha=0.1).key() != "b067d4aba3566786"


def test_intervention_fields_enter_key_and_label():
    mixing, control = tiny(mixing_alpha=0.1), tiny(mixing_alpha=0.1, norm_matched=True)
    assert len({tiny().key(), mixing.key(), control.key(), tiny(mixing_alpha=0.2).key()}) == 4
    assert "mix0.1" in mixing.label() and "normmatched" not in mixing.label()
    assert "mix0.1-normmatched" in control.label()
    assert control.baseline() == mixing.baseline() == tiny()


INVALID = [
    (dict(mixing_alpha=-0.1), "mixing_alpha", "-0.1", "[0, 1)"),
    (dict(mixing_alpha=1.0), "mixing_alpha", "1.0", "[0, 1)"),
    (dict(mixing_alpha=1.5), "mixing_alpha", "1.5", "[0, 1)"),
    (dict(mixing_alpha=float("nan")), "mixing_alpha", "nan", "[0, 1)"),
    (dict(mixing_alpha="0.1"), "mixing_alpha", "'0.1'", "[0, 1)"),
    (dict(mixing_alpha=True), "mixing_alpha", "True", "[0, 1)"),
    (dict(norm_matched=True), "norm_matched", "True", "mixing_alpha = 0"),
    (dict(mixing_alpha=0.1, norm_matched=1), "norm_matched", "1", "True or False"),
    (dict(mixing_alpha=0.1, norm_matched=True, metrics=()), "norm_matched", "True", "'norm_trace'"),
    (dict(mixing_alpha=0.1, batch_size=1), "batch_size", "1", "at least 2"),
    (dict(metrics=("norm_traces",)), "metrics", "norm_traces", "'norm_trace'"),
]


@pytest.mark.parametrize("changes, name, shown, allowed", INVALID, ids=[str(c) for c, *_ in INVALID])
def test_invalid_intervention_values_raise_naming_field_value_and_what_is_allowed(changes, name, shown, allowed):
    with pytest.raises(ValueError) as info:
        tiny(**changes)
    message = str(info.value)
    assert f"Config.{name}" in message and shown in message and allowed in message


def test_norm_matched_without_mixing_says_why():
    with pytest.raises(ValueError, match="the run itself"):
        tiny(norm_matched=True)


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.5, 0.999])
def test_valid_alphas(alpha):
    assert tiny(mixing_alpha=alpha, batch_size=2).mixing_alpha == alpha


def test_records_norm_trace_only_without_mixing_and_when_listed():
    assert tiny().records_norm_trace
    assert not tiny(metrics=()).records_norm_trace
    assert not tiny(mixing_alpha=0.1).records_norm_trace
    assert not tiny(mixing_alpha=0.1, norm_matched=True).records_norm_trace


# ------------------------------------------------------------- mixing maths
@pytest.mark.parametrize("n", range(2, 12))
def test_permutation_is_the_cyclic_shift_and_a_derangement(n):
    pi = intervention.mixing_permutation(n)
    assert pi.tolist() == [(i + 1) % n for i in range(n)]
    assert sorted(pi.tolist()) == list(range(n))
    assert all(pi[i] != i for i in range(n))


@pytest.mark.parametrize("n", [0, 1])
def test_no_derangement_of_fewer_than_two(n):
    with pytest.raises(ValueError, match="at least 2"):
        intervention.mixing_permutation(n)
    with pytest.raises(ValueError, match="at least 2"):
        intervention.mix(torch.ones(n, 3), 0.1)


def test_mix_is_the_convex_combination_with_the_permuted_batch():
    h = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    pi = intervention.mixing_permutation(5)
    torch.testing.assert_close(intervention.mix(h, 0.25), 0.75 * h + 0.25 * h[pi], rtol=0, atol=1e-7)
    assert torch.equal(intervention.mix(h, 0.0), h)


class Linear2(nn.Module):
    """h = A x, logits = W h + b: a linear model with a features/head split."""

    def __init__(self, d_in=4, d=3, k=5):
        super().__init__()
        self.A = nn.Linear(d_in, d, bias=False)
        self.head = nn.Linear(d, k)

    def features(self, x):
        return self.A(x)

    def forward(self, x):
        return self.head(self.features(x))


def linear_case(seed=0, batch=6):
    torch.manual_seed(seed)
    model = Linear2().double()
    x = torch.randn(batch, 4, dtype=torch.float64)
    y = torch.randint(0, 5, (batch,))
    return model, x, y


def hand_written_mixed_ce(model, x, y, alpha):
    """½ [CE(W h_i + b) + CE(W h̃_i + b)] averaged over i, sample by sample with explicit log-sum-exp."""
    A, W, b = model.A.weight, model.head.weight, model.head.bias
    n = x.shape[0]
    total = 0.0
    for i in range(n):
        h_i, h_next = A @ x[i], A @ x[(i + 1) % n]
        for h in (h_i, (1 - alpha) * h_i + alpha * h_next):
            z = W @ h + b
            total = total + 0.5 * (torch.log(torch.exp(z).sum()) - z[y[i]])
    return total / n


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.7])
def test_mixed_cross_entropy_equals_the_hand_written_reference_and_its_gradient(alpha):
    model, x, y = linear_case()
    loss = intervention.mixed_loss(lambda z, t: F.cross_entropy(z, t), model, x, y, alpha)
    reference = hand_written_mixed_ce(model, x, y, alpha)
    torch.testing.assert_close(loss, reference, rtol=1e-12, atol=1e-12)
    got = torch.autograd.grad(loss, list(model.parameters()))
    expected = torch.autograd.grad(reference, list(model.parameters()))
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)


def test_mixed_mse_sum_has_the_closed_form_value_and_head_gradient():
    """With MSE summed over classes and batch, L = ½ Σ_i ||W h_i + b − e_i||² + ||W h̃_i + b − e_i||²,
    so ∂L/∂W = Σ_i r_i h_iᵀ + r̃_i h̃_iᵀ and ∂L/∂b = Σ_i r_i + r̃_i with r = W h + b − e."""
    model, x, y = linear_case(seed=1)
    alpha = 0.3
    config = Config(task="mnist", model="mlp", loss="mse", loss_reduction="sum")
    loss = intervention.mixed_loss(lambda z, t: objective(config, z, t), model, x, y, alpha)
    with torch.no_grad():
        h = x @ model.A.weight.T
        h_mixed = (1 - alpha) * h + alpha * torch.roll(h, -1, 0)
        e = F.one_hot(y, 5).double()
        r, r_mixed = model.head(h) - e, model.head(h_mixed) - e
        value = 0.5 * ((r ** 2).sum() + (r_mixed ** 2).sum())
        grad_w = r.T @ h + r_mixed.T @ h_mixed
        grad_b = (r + r_mixed).sum(0)
    torch.testing.assert_close(loss, value, rtol=1e-12, atol=1e-12)
    got_w, got_b = torch.autograd.grad(loss, [model.head.weight, model.head.bias])
    torch.testing.assert_close(got_w, grad_w, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(got_b, grad_b, rtol=1e-10, atol=1e-12)


def test_alpha_zero_is_the_plain_loss():
    model, x, y = linear_case()
    config = Config(task="mnist", model="mlp")
    plain = F.cross_entropy(model(x), y)
    assert torch.equal(training_loss(config, model, x, y), plain)  # the baseline's own code path
    mixed_at_zero = intervention.mixed_loss(lambda z, t: F.cross_entropy(z, t), model, x, y, 0.0)
    torch.testing.assert_close(mixed_at_zero, plain, rtol=1e-15, atol=0)
    for g, e in zip(torch.autograd.grad(mixed_at_zero, list(model.parameters())),
                    torch.autograd.grad(plain, list(model.parameters()))):
        torch.testing.assert_close(g, e, rtol=1e-12, atol=1e-15)


def test_a_model_without_head_split_is_refused():
    with pytest.raises(ValueError, match=r"Linear lacks \['features', 'head'\]"):
        intervention.mixed_loss(F.cross_entropy, nn.Linear(3, 2), torch.randn(4, 3), torch.zeros(4).long(), 0.1)


@pytest.mark.parametrize("config", [
    tiny(), tiny(model="mlp", widths=(8,)), tiny(layer_norm=True, num_layers=2),
    Config(task="mnist", model="mlp", widths=(8,)), Config(task="mnist", model="cnn"),
    Config(task="mnist", model="vit", d_model=16, num_heads=2, d_mlp=16),
], ids=["transformer", "embed-mlp", "transformer-2l-ln", "mlp", "cnn", "vit"])
def test_every_model_is_head_of_features(config):
    """Mixing recomputes logits as model.head(h): true of every model of the book."""
    torch.manual_seed(0)
    if config.is_algorithmic:
        data = gu.data.load(config)
        model, x = gu.models.build(config, data.input_shape, data.num_classes, data.vocab_size), data.x_train[:6]
    else:
        model, x = gu.models.build(config, (1, 28, 28), 10), torch.randn(6, 1, 28, 28)
    intervention.check_head_split(model)
    with torch.no_grad():
        torch.testing.assert_close(model.head(model.features(x)), model(x), rtol=0, atol=0)


# ------------------------------------------------------------- single runs
def test_baseline_trace_is_the_weight_norm_at_every_step(baseline_result):
    trace = baseline_result.norm_trace
    assert trace.dtype == np.float32 and trace.shape == (tiny().num_steps + 1,)
    np.testing.assert_allclose(trace[baseline_result.steps], baseline_result.history["weight_norm"], rtol=1e-6)


def test_recording_the_trace_changes_nothing_else(baseline_result):
    plain = train(tiny(metrics=()), progress=False)
    assert plain.norm_trace is None
    for name in plain.history:
        if name != "wall_time":
            assert plain.history[name] == baseline_result.history[name], name


def test_mixing_changes_training_but_not_evaluation(baseline_result):
    mixed = train(tiny(mixing_alpha=0.3), progress=False)
    assert mixed.norm_trace is None
    for name in ("train_loss", "test_loss", "weight_norm"):  # step 0: same init, evaluation never mixes
        assert mixed.history[name][0] == baseline_result.history[name][0]
    assert mixed.history["weight_norm"][-1] != pytest.approx(baseline_result.history["weight_norm"][-1], rel=1e-7)


def test_mixed_single_run_equals_a_plain_loop():
    """A hand-written loop with the mixed loss of Part III, claim 3 (AdamW, warm-up, full batch)."""
    config = tiny(mixing_alpha=0.2, metrics=(), num_steps=5, eval_schedule="every:5")
    data = gu.data.load(config)
    model = gu.models.build(config, data.input_shape, data.num_classes, data.vocab_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=config.betas,
                                  weight_decay=config.weight_decay)
    for step in range(config.num_steps):
        for group in optimizer.param_groups:
            group["lr"] = config.lr * min(1.0, (step + 1) / config.warmup_steps)
        h = model.features(data.x_train)
        h_mixed = 0.8 * h + 0.2 * h[intervention.mixing_permutation(len(h))]
        loss = 0.5 * (F.cross_entropy(model.head(h), data.y_train) + F.cross_entropy(model.head(h_mixed), data.y_train))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    result = train(config, progress=False)
    for name, parameter in model.state_dict().items():
        torch.testing.assert_close(result.model.state_dict()[name], parameter, rtol=1e-5, atol=1e-6)


def norms_after_every_step(result) -> np.ndarray:
    assert result.steps == list(range(result.config.num_steps + 1))
    return np.asarray(result.history["weight_norm"])


def test_norm_matched_run_follows_the_baseline_norm_after_every_step(baseline_result):
    control = train(tiny(mixing_alpha=0.3, norm_matched=True), progress=False,
                    baseline_norm_trace=baseline_result.norm_trace)
    mixed = train(tiny(mixing_alpha=0.3), progress=False)
    np.testing.assert_allclose(norms_after_every_step(control), baseline_result.norm_trace, rtol=1e-5)
    assert np.abs(norms_after_every_step(mixed) / baseline_result.norm_trace - 1).max() > 1e-5  # it had work to do
    assert control.history["train_loss"][-1] != mixed.history["train_loss"][-1]


def test_norm_matched_run_needs_a_complete_baseline_trace(baseline_result):
    control = tiny(mixing_alpha=0.1, norm_matched=True)
    with pytest.raises(ValueError, match=re.escape(control.baseline().key())):
        train(control, progress=False)
    with pytest.raises(ValueError, match=r"expected \(9,\)"):
        train(control, progress=False, baseline_norm_trace=baseline_result.norm_trace[:-1])
    with pytest.raises(ValueError, match="non-finite"):
        train(control, progress=False, baseline_norm_trace=np.full(9, np.nan))


def assert_same(a, b, rtol=1e-6):
    assert a.steps == b.steps and sorted(a.history) == sorted(b.history)
    for name in a.history:
        if name != "wall_time":
            np.testing.assert_allclose(a.history[name], b.history[name], rtol=rtol, atol=1e-7, err_msg=name)
    if a.norm_trace is None or b.norm_trace is None:
        assert a.norm_trace is None and b.norm_trace is None
    else:
        np.testing.assert_allclose(a.norm_trace, b.norm_trace, rtol=rtol)


@pytest.mark.parametrize("changes", [dict(), dict(mixing_alpha=0.3, norm_matched=True), dict(mixing_alpha=0.3)],
                         ids=["baseline", "control", "mixing"])
def test_resume_mid_run_equals_an_uninterrupted_run(tmp_path, baseline_result, changes):
    config = tiny(**changes)
    trace = baseline_result.norm_trace if config.norm_matched else None
    reference = train(config, progress=False, baseline_norm_trace=trace)
    checkpoint = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):
        train(config, callbacks=[Interrupt(5)], progress=False, checkpoint_path=checkpoint, checkpoint_every_s=0,
              baseline_norm_trace=trace)
    saved = torch.load(checkpoint, weights_only=False)
    assert saved["step"] == 4
    if config.records_norm_trace:  # the checkpoint holds the trace so far, the rest is still to come
        assert np.isfinite(saved["norm_trace"][:5].numpy()).all() and np.isnan(saved["norm_trace"][5:].numpy()).all()
    resumed = train(config, progress=False, checkpoint_path=checkpoint, checkpoint_every_s=0,
                    baseline_norm_trace=trace)
    assert_same(resumed, reference)
    if config.records_norm_trace:
        assert np.isfinite(resumed.norm_trace).all()


# ------------------------------------------------------------------- sweeps
@pytest.mark.parametrize("make", [tiny, tiny_mlp], ids=["transformer-full-batch", "embed-mlp-minibatch"])
def test_sweep_with_mixing_and_control_equals_single_runs(make):
    baseline = train(make(), progress=False)
    configs = [make(), make(mixing_alpha=0.1, seed=1), make(mixing_alpha=0.3, weight_decay=0.5),
               make(mixing_alpha=0.3, norm_matched=True)]
    traces = [None, None, None, baseline.norm_trace]
    together = train_sweep(configs, progress=False, baseline_norm_traces=traces)
    for config, trace, result in zip(configs, traces, together):
        alone = train(config, progress=False, baseline_norm_trace=trace)
        assert_same(result, alone, rtol=1e-4)
    np.testing.assert_allclose(together[3].history["weight_norm"], baseline.norm_trace[together[3].steps], rtol=1e-5)


def test_sweep_control_needs_its_baseline_trace():
    configs = [tiny(), tiny(mixing_alpha=0.1, norm_matched=True)]
    with pytest.raises(ValueError, match="norm-matched"):
        train_sweep(configs, progress=False)
    with pytest.raises(ValueError, match="one per config"):
        train_sweep(configs, progress=False, baseline_norm_traces=[None])


def test_sweep_resume_keeps_the_whole_trace(tmp_path, baseline_result):
    configs = [tiny(), tiny(seed=1), tiny(mixing_alpha=0.3, norm_matched=True)]
    traces = [None, None, baseline_result.norm_trace]
    reference = train_sweep(configs, progress=False, baseline_norm_traces=traces)
    checkpoint = tmp_path / "sweep.pt"
    with pytest.raises(KeyboardInterrupt):
        train_sweep(configs, callbacks=[Interrupt(5)], progress=False, checkpoint_path=checkpoint,
                    checkpoint_every_s=0, baseline_norm_traces=traces)
    resumed = train_sweep(configs, progress=False, checkpoint_path=checkpoint, checkpoint_every_s=0,
                          baseline_norm_traces=traces)
    for a, b in zip(resumed, reference):
        assert_same(a, b)
    assert resumed[2].norm_trace is None and np.isfinite(resumed[1].norm_trace).all()


# -------------------------------------------------------------------- store
def test_run_trains_and_stores_the_baseline_first_then_loads_both(store, monkeypatch):
    control = tiny(mixing_alpha=0.3, norm_matched=True)
    result = run(control, store, progress=False)
    baseline = store.load(control.baseline())
    assert baseline is not None and store.norm_trace_path(control.baseline()).exists()
    assert not store.norm_trace_path(control).exists() and result.norm_trace is None
    np.testing.assert_allclose(result.history["weight_norm"], baseline.norm_trace[result.steps], rtol=1e-5)
    np.testing.assert_array_equal(store.load(control.baseline()).norm_trace, baseline.norm_trace)
    monkeypatch.setattr(gu.train, "train", lambda *a, **k: pytest.fail("trained although stored"))
    assert run(control, store, progress=False) == result


def test_a_result_without_its_trace_file_counts_as_missing(store, monkeypatch):
    config = tiny()
    run(config, store, progress=False)
    store.norm_trace_path(config).unlink()
    assert config not in store and store.load(config) is None
    monkeypatch.setenv(gu.runs.STORED_ONLY_ENV, "1")
    with pytest.raises(MissingResult, match=config.key()):
        run(config, store, progress=False)


def test_stored_only_names_the_missing_baseline(store, monkeypatch):
    control = tiny(mixing_alpha=0.3, norm_matched=True)
    monkeypatch.setenv(gu.runs.STORED_ONLY_ENV, "1")
    with pytest.raises(MissingResult, match=control.baseline().key()) as info:
        run_sweep([control], store, progress=False)
    assert control.key() in str(info.value) and "baselines" in str(info.value)


def test_run_sweep_trains_baselines_before_their_controls(store, monkeypatch):
    base = tiny(num_steps=4)
    control_a = base.replace(mixing_alpha=0.3, norm_matched=True)
    control_b = base.replace(seed=1, mixing_alpha=0.3, norm_matched=True)  # baseline not requested
    configs = [control_a, base.replace(mixing_alpha=0.3), base, control_b]
    groups = []
    real = gu.sweep.train_sweep
    monkeypatch.setattr(gu.sweep, "train_sweep", lambda todo, **k: groups.append(list(todo)) or real(todo, **k))
    results = run_sweep(configs, store, progress=False)
    assert [r.config for r in results] == configs
    assert groups == [[base.replace(mixing_alpha=0.3), base], [control_b.baseline()], [control_a, control_b]]
    for control, result in ((control_a, results[0]), (control_b, results[3])):
        trace = store.load(control.baseline()).norm_trace
        np.testing.assert_allclose(result.history["weight_norm"], trace[result.steps], rtol=1e-5)
    assert all(c in store for c in configs + [control_b.baseline()])
    assert not list(store.checkpoints.glob("*"))  # every sweep's checkpoint removed once stored
    assert math.isfinite(results[2].norm_trace.sum())
