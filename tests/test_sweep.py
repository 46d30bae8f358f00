"""The sweep engine equals training the configurations one by one, with either strategy ('vmap' to float
tolerance, 'loop' exactly), and picks the faster strategy for a shape from a measurement."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import grokutils as gu
from grokutils.sweep import check_same_shape, sweep_checkpoint_key, train_sweep
from grokutils.train import train
from conftest import Interrupt


def nanda_configs():
    base = gu.presets.nanda("smoke", d_model=32, d_mlp=64, num_steps=30, device="cpu")
    return [base.replace(seed=0, weight_decay=1.0), base.replace(seed=1, weight_decay=0.1),
            base.replace(seed=2, weight_decay=0.0)]


def mnist_configs():
    base = gu.presets.omnigrok_mnist("smoke", widths=(32,), num_steps=20, batch_size=100,
                                     eval_schedule="every:5", device="cpu")
    return [base.replace(seed=0), base.replace(seed=1, weight_decay=0.5), base.replace(seed=2, init_scale=2.0)]


STRATEGIES = pytest.mark.parametrize("strategy", gu.sweep.STRATEGIES)


@STRATEGIES
def test_sweep_equals_one_by_one_full_batch(histories_close, strategy):
    configs = nanda_configs()
    data = gu.data.load(configs[0])
    together = train_sweep(configs, dataset=data, progress=False, strategy=strategy)
    assert all(r.env["sweep_strategy"] == strategy for r in together)
    assert [r.config for r in together] == configs
    for config, result in zip(configs, together):
        alone = train(config, dataset=data, progress=False)
        histories_close(result, alone, rtol=1e-4, atol=1e-5)
    # the members really differ
    assert together[0].history["weight_norm"][-1] != together[1].history["weight_norm"][-1]


@STRATEGIES
def test_sweep_equals_one_by_one_minibatch_mnist(histories_close, mnist_offline, strategy):
    configs = mnist_configs()
    together = train_sweep(configs, dataset=mnist_offline, progress=False, strategy=strategy)
    assert together[0].steps == [0, 5, 10, 15, 20]
    for config, result in zip(configs, together):
        alone = train(config, dataset=mnist_offline, progress=False)
        histories_close(result, alone, rtol=1e-4, atol=1e-5)


@STRATEGIES
def test_sweep_equals_one_by_one_sgd_with_momentum(histories_close, strategy):
    base = gu.presets.nanda("smoke", model="mlp", d_model=16, widths=(32,), optimizer="sgd", lr=0.5,
                            momentum=0.9, num_steps=15, eval_schedule="every:5", device="cpu")
    configs = [base.replace(seed=0, weight_decay=1e-2), base.replace(seed=1, weight_decay=0.0)]
    data = gu.data.load(base)
    for config, result in zip(configs, train_sweep(configs, dataset=data, progress=False, strategy=strategy)):
        histories_close(result, train(config, dataset=data, progress=False), rtol=1e-4, atol=1e-5)


@STRATEGIES
def test_sweep_callbacks_and_metrics_per_member(strategy):
    configs = [c.replace(metrics=("representation_norm",), num_steps=10) for c in nanda_configs()[:2]]
    seen = []
    results = train_sweep(configs, callbacks=[lambda ctx: seen.append((ctx.config.seed, ctx.step)) or
                                              {"seed": float(ctx.config.seed)}], progress=False, strategy=strategy)
    for config, result in zip(configs, results):
        assert result.history["seed"] == [float(config.seed)] * len(result.steps)
        assert len(result.history["representation_norm"]) == len(result.steps)
    assert sorted(seen) == sorted((c.seed, s) for c in configs for s in results[0].steps)
    assert all(r.timings["sweep_size"] == 2 and r.env["sweep_size"] == 2 for r in results)


def test_single_config_sweep(histories_close):
    config = nanda_configs()[1].replace(num_steps=10)
    (result,) = train_sweep([config], progress=False)
    histories_close(result, train(config, progress=False))


@pytest.mark.parametrize("field, value", [
    ("lr", 3e-3), ("p", 29), ("d_model", 16), ("batch_size", 64), ("num_steps", 20), ("data_seed", 1),
])
def test_configs_differing_in_other_fields_are_rejected(field, value):
    configs = nanda_configs()
    configs[2] = configs[2].replace(**{field: value})
    with pytest.raises(ValueError, match=field):
        train_sweep(configs, progress=False)
    with pytest.raises(ValueError, match=field):
        check_same_shape(configs)


def test_sweepable_fields_are_accepted_and_empty_is_rejected():
    check_same_shape(nanda_configs() + [nanda_configs()[0].replace(init_scale=0.5)])
    with pytest.raises(ValueError):
        check_same_shape([])


def test_sweep_checkpoint_key_is_order_independent():
    configs = nanda_configs()
    assert sweep_checkpoint_key(configs) == sweep_checkpoint_key(configs[::-1])
    assert sweep_checkpoint_key(configs) != sweep_checkpoint_key(configs[:2])


def warmup_configs():
    return [c.replace(num_steps=12, eval_schedule="every:2", d_model=16, d_mlp=32) for c in nanda_configs()]


@STRATEGIES
@pytest.mark.parametrize("make_configs, interrupt_at",
                         [(nanda_configs, 20), (mnist_configs, 10), (warmup_configs, 6)],
                         ids=["full-batch", "minibatch", "during-warmup"])
def test_sweep_checkpoint_resume(tmp_path, histories_close, mnist_offline, make_configs, interrupt_at, strategy):
    configs = make_configs()
    data = gu.data.load(configs[0]) if configs[0].is_algorithmic else mnist_offline
    checkpoint = tmp_path / "sweep.pt"
    reference = train_sweep(configs, dataset=data, progress=False, strategy=strategy)
    interrupt = Interrupt(interrupt_at)
    with pytest.raises(KeyboardInterrupt):
        train_sweep(configs, dataset=data, callbacks=[interrupt], progress=False, checkpoint_path=checkpoint,
                    checkpoint_every_s=0, strategy=strategy)
    assert interrupt.fired and checkpoint.exists()
    saved = torch.load(checkpoint, weights_only=True)
    assert saved["steps"][-1] < interrupt_at and saved["strategy"] == strategy
    seen = []
    other = next(s for s in gu.sweep.STRATEGIES if s != strategy)  # the checkpoint's strategy wins
    resumed = train_sweep(configs, dataset=data, callbacks=[lambda c: seen.append(c.step) or {}], progress=False,
                          checkpoint_path=checkpoint, checkpoint_every_s=0, strategy=other)
    assert min(seen) == interrupt_at and all(r.env["sweep_strategy"] == strategy for r in resumed)
    for a, b in zip(resumed, reference):
        histories_close(a, b, rtol=1e-6, atol=1e-6)


def test_sweep_ignores_checkpoint_of_another_sweep(tmp_path, histories_close):
    configs = [c.replace(num_steps=10) for c in nanda_configs()]
    checkpoint = tmp_path / "sweep.pt"
    train_sweep(configs[:2], progress=False, checkpoint_path=checkpoint, checkpoint_every_s=0)
    seen = []
    results = train_sweep(configs, callbacks=[lambda c: seen.append(c.step) or {}], progress=False,
                          checkpoint_path=checkpoint, checkpoint_every_s=0)
    assert min(seen) == 0
    reference = train_sweep(configs, progress=False)
    for a, b in zip(results, reference):
        histories_close(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("configs, message", [
    ([], "empty list of configs"),
    (lambda: nanda_configs()[0], "takes a list of Configs, got Config"),
    (lambda: nanda_configs() + [nanda_configs()[1]], r"configs\[3\] repeats configs\[1\]"),
    (lambda: [nanda_configs()[0], "seed=1"], r"configs\[1\] is a str"),
], ids=["empty", "one-config", "duplicate", "a-string"])
def test_train_sweep_refuses_bad_lists_before_any_work(configs, message, monkeypatch):
    monkeypatch.setattr(gu.data, "load", lambda *a, **k: pytest.fail("loaded data before checking the configs"))
    with pytest.raises(ValueError, match=message):
        train_sweep(configs() if callable(configs) else configs, progress=False)


def test_sweep_groups_refuses_a_bad_size():
    for size in (0, 1.5, True):
        with pytest.raises(ValueError, match="max_members"):
            gu.sweep.sweep_groups(nanda_configs(), size)


def test_an_unreadable_sweep_checkpoint_is_moved_aside_and_the_sweep_starts_over(tmp_path):
    configs = [c.replace(num_steps=10) for c in nanda_configs()]
    checkpoint = tmp_path / "sweep.pt"
    torch.save({"key": gu.sweep.sweep_checkpoint_key(configs), "step": 5, "bad": Interrupt}, checkpoint)
    seen = []
    with pytest.warns(gu.train.CorruptCheckpointWarning, match=r"sweep\.pt\.corrupt"):
        train_sweep(configs, callbacks=[lambda c: seen.append(c.step) or {}], progress=False,
                    checkpoint_path=checkpoint, checkpoint_every_s=0)
    assert min(seen) == 0 and (tmp_path / "sweep.pt.corrupt").exists()
    saved = torch.load(checkpoint, weights_only=True)
    own = {"vmap": {"params", "buffers", "optimizer"}, "loop": {"members", "optimizers", "schedules"}}
    assert set(saved) >= {"histories", "strategy"} | own[saved["strategy"]]


# ------------------------------------------------------------------ strategies
def test_the_loop_strategy_equals_one_by_one_training_exactly(mnist_offline):
    configs = mnist_configs()
    together = train_sweep(configs, dataset=mnist_offline, progress=False, strategy="loop")
    for config, result in zip(configs, together):
        assert result.history | {"wall_time": None} == \
            train(config, dataset=mnist_offline, progress=False).history | {"wall_time": None}


@STRATEGIES
def test_mixing_and_norm_matched_members_with_either_strategy(strategy):
    base = gu.presets.nanda("smoke", d_model=16, d_mlp=32, num_steps=12, eval_schedule="every:4", device="cpu",
                            metrics=("norm_trace",))
    baseline = train(base, progress=False)
    configs = [base, base.replace(mixing_alpha=0.1, seed=1), base.replace(mixing_alpha=0.3, norm_matched=True)]
    traces = [None, None, baseline.norm_trace]
    together = train_sweep(configs, progress=False, baseline_norm_traces=traces, strategy=strategy)
    for config, trace, result in zip(configs, traces, together):
        alone = train(config, progress=False, baseline_norm_trace=trace)
        for name in ("train_loss", "test_loss", "weight_norm"):
            np.testing.assert_allclose(result.history[name], alone.history[name], rtol=1e-4, err_msg=name)
    np.testing.assert_allclose(together[0].norm_trace, baseline.norm_trace, rtol=1e-5)
    np.testing.assert_allclose(together[2].history["weight_norm"], baseline.norm_trace[together[2].steps], rtol=1e-5)


def test_the_strategy_is_measured_once_per_shape(monkeypatch):
    monkeypatch.delenv(gu.sweep.STRATEGY_ENV, raising=False)
    monkeypatch.setattr(gu.sweep, "_CHOSEN", {})
    configs = [c.replace(num_steps=4) for c in nanda_configs()]
    data = gu.data.load(configs[0])
    device = torch.device("cpu")
    first = gu.sweep.choose_strategy(configs, data, device)
    assert first["strategy"] in gu.sweep.STRATEGIES and first["why"] == "measured"
    assert set(first["ms_per_step"]) == set(gu.sweep.STRATEGIES) and min(first["ms_per_step"].values()) > 0
    assert first["strategy"] == min(first["ms_per_step"], key=lambda s: (first["ms_per_step"][s], s != "loop"))
    built = []
    for name, members in dict(gu.sweep.MEMBERS).items():
        monkeypatch.setitem(gu.sweep.MEMBERS, name, lambda *a, members=members: built.append(a) or members(*a))
    again = [c.replace(seed=c.seed + 10, weight_decay=0.3) for c in configs]  # same shape
    assert gu.sweep.choose_strategy(again, data, device) is first
    result = train_sweep(again, dataset=data, progress=False)
    assert result[0].env["sweep_strategy"] == first["strategy"] and len(built) == 1  # the sweep's own members
    assert gu.sweep.choose_strategy(configs[:1], data, device)["strategy"] == "loop"  # one member: nothing to vmap


def test_the_strategy_can_be_fixed_by_the_environment_and_is_checked(monkeypatch):
    configs = [c.replace(num_steps=2) for c in nanda_configs()]
    for strategy in gu.sweep.STRATEGIES:
        monkeypatch.setenv(gu.sweep.STRATEGY_ENV, strategy)
        assert train_sweep(configs, progress=False)[0].env["sweep_strategy"] == strategy
    with pytest.raises(ValueError, match="strategy='fast' is not allowed"):
        train_sweep(configs, progress=False, strategy="fast")


def test_a_loop_member_that_stopped_early_is_no_longer_trained():
    base = gu.presets.nanda("smoke", d_model=16, d_mlp=32, num_steps=30, eval_schedule="every:5", device="cpu",
                            grok_threshold=0.01, stop_after_grok=0)  # groks (test acc >= 1 %) at step 0
    configs = [base, base.replace(seed=1, stop_after_grok=None)]
    trained = []
    original = gu.sweep.LoopMembers.member_step
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(gu.sweep.LoopMembers, "member_step",
                        lambda self, index, *rest: trained.append(index) or original(self, index, *rest))
    try:
        results = train_sweep(configs, progress=False, strategy="loop")
    finally:
        monkeypatch.undo()
    assert results[0].steps == [0] and results[1].steps[-1] == 30
    assert trained == [1] * 30


@pytest.mark.parametrize("variant", [{"batch_size": None}, {"activation": "tanh", "widths": (24, 16)},
                                     {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9}],
                         ids=["full-batch", "tanh-two-layers", "sgd-momentum"])
def test_the_stacked_mlp_step_equals_one_by_one(histories_close, mnist_offline, variant):
    """The MLP's vmap strategy trains input-major stacked weights with written-out batched products
    (grokutils.stacked); it equals one-by-one training, full batch or not, for each activation and optimiser."""
    configs = [c.replace(**variant) for c in mnist_configs()]
    members = gu.sweep.VmapMembers(configs, mnist_offline, torch.device("cpu"))
    assert members.turned == {"body.1.weight", "head.weight"} | ({"body.3.weight"} if "widths" in variant else set())
    together = train_sweep(configs, dataset=mnist_offline, progress=False, strategy="vmap")
    for config, result in zip(configs, together):
        histories_close(result, train(config, dataset=mnist_offline, progress=False), rtol=1e-4, atol=1e-5)


def test_a_stacked_mlp_checkpoint_has_the_layout_of_a_vmapped_one(mnist_offline, monkeypatch):
    """Checkpoints and members' models see stack_module_state's (M, out, in) weights whichever forward trains
    them: the same state, to float rounding, after the same steps, with the written-out step or with vmap."""
    configs = mnist_configs()
    x, y = gu.sweep._batches(configs, [gu.train.BatchSampler(len(mnist_offline.y_train), c.batch_size, c.seed,
                                                              torch.device("cpu")) for c in configs], mnist_offline, 0)

    def state_after_steps():
        members = gu.sweep.VmapMembers(configs, mnist_offline, torch.device("cpu"))
        for step in range(3):
            members.train_step(x, y, [0, 1, 2], step)
        return members, members.state()

    written, written_state = state_after_steps()
    monkeypatch.setattr(gu.stacked, "applies", lambda model, mixing: False)
    vmapped, vmapped_state = state_after_steps()
    assert written.turned and not vmapped.turned
    for name, tensor in vmapped_state["params"].items():
        torch.testing.assert_close(written_state["params"][name], tensor, rtol=1e-5, atol=1e-6)
    for index, moments in vmapped_state["optimizer"]["state"].items():
        for key in ("exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(written_state["optimizer"]["state"][index][key], moments[key],
                                       rtol=1e-4, atol=1e-4 * float(moments[key].abs().max()))
    for member in range(3):
        torch.testing.assert_close(written.model(member)(x[member]), vmapped.model(member)(x[member]),
                                   rtol=1e-5, atol=1e-5)
    vmapped.load(written_state)  # a checkpoint of one layout loads into the other
    torch.testing.assert_close(vmapped.params["head.weight"], written.params["head.weight"].mT)
