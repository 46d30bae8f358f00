"""The sweep engine equals training the configurations one by one."""

from __future__ import annotations

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


def test_sweep_equals_one_by_one_full_batch(histories_close):
    configs = nanda_configs()
    data = gu.data.load(configs[0])
    together = train_sweep(configs, dataset=data, progress=False)
    assert [r.config for r in together] == configs
    for config, result in zip(configs, together):
        alone = train(config, dataset=data, progress=False)
        histories_close(result, alone, rtol=1e-4, atol=1e-5)
    # the members really differ
    assert together[0].history["weight_norm"][-1] != together[1].history["weight_norm"][-1]


def test_sweep_equals_one_by_one_minibatch_mnist(histories_close, mnist_offline):
    configs = mnist_configs()
    together = train_sweep(configs, dataset=mnist_offline, progress=False)
    assert together[0].steps == [0, 5, 10, 15, 20]
    for config, result in zip(configs, together):
        alone = train(config, dataset=mnist_offline, progress=False)
        histories_close(result, alone, rtol=1e-4, atol=1e-5)


def test_sweep_equals_one_by_one_sgd_with_momentum(histories_close):
    base = gu.presets.nanda("smoke", model="mlp", d_model=16, widths=(32,), optimizer="sgd", lr=0.5,
                            momentum=0.9, num_steps=15, eval_schedule="every:5", device="cpu")
    configs = [base.replace(seed=0, weight_decay=1e-2), base.replace(seed=1, weight_decay=0.0)]
    data = gu.data.load(base)
    for config, result in zip(configs, train_sweep(configs, dataset=data, progress=False)):
        histories_close(result, train(config, dataset=data, progress=False), rtol=1e-4, atol=1e-5)


def test_sweep_callbacks_and_metrics_per_member():
    configs = [c.replace(metrics=("representation_norm",), num_steps=10) for c in nanda_configs()[:2]]
    seen = []
    results = train_sweep(configs, callbacks=[lambda ctx: seen.append((ctx.config.seed, ctx.step)) or
                                              {"seed": float(ctx.config.seed)}], progress=False)
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


@pytest.mark.parametrize("make_configs, interrupt_at",
                         [(nanda_configs, 20), (mnist_configs, 10), (warmup_configs, 6)],
                         ids=["full-batch", "minibatch", "during-warmup"])
def test_sweep_checkpoint_resume(tmp_path, histories_close, mnist_offline, make_configs, interrupt_at):
    configs = make_configs()
    data = gu.data.load(configs[0]) if configs[0].is_algorithmic else mnist_offline
    checkpoint = tmp_path / "sweep.pt"
    reference = train_sweep(configs, dataset=data, progress=False)
    interrupt = Interrupt(interrupt_at)
    with pytest.raises(KeyboardInterrupt):
        train_sweep(configs, dataset=data, callbacks=[interrupt], progress=False, checkpoint_path=checkpoint,
                    checkpoint_every_s=0)
    assert interrupt.fired and checkpoint.exists()
    assert torch.load(checkpoint, weights_only=True)["steps"][-1] < interrupt_at
    seen = []
    resumed = train_sweep(configs, dataset=data, callbacks=[lambda c: seen.append(c.step) or {}], progress=False,
                          checkpoint_path=checkpoint, checkpoint_every_s=0)
    assert min(seen) == interrupt_at
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
    assert set(torch.load(checkpoint, weights_only=True)) >= {"params", "buffers", "optimizer", "histories"}
