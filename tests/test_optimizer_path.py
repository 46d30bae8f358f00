"""The faster training step trains the same runs as before, to float tolerance.

``tests/data/optimizer_path_before.json`` holds the histories of five short runs (30 steps, evaluated every
10) recorded with the training loop as it was before the fused optimiser step, the binary MNIST cache,
``index_select`` batches and the warm-up scheduler that stops stepping once the warm-up is over: Part I's
MLP (MSE summed, batch 100) and Omnigrok's (MSE mean, batch 200), the Nanda transformer with its 10-step
warm-up, full-batch SGD (Theorem 4.3) and SGD with momentum. Every configuration that existed then trains
the same numbers now, to float32 rounding (measured on the development VM: relative differences ≤ 2e-7;
the tolerance leaves room for another CPU's matrix products).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import grokutils as gu

BEFORE = json.loads((Path(__file__).parent / "data" / "optimizer_path_before.json").read_text())


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_a_short_run_trains_the_history_it_trained_before(name):
    before = BEFORE[name]
    config = gu.Config.from_dict(before["config"])
    assert config.loss_dtype == "float32"  # configurations of then: the default precision
    result = gu.train.train(config, progress=False)
    assert result.steps == before["steps"] and not result.env["compiled"]
    for metric, values in before["history"].items():
        np.testing.assert_allclose(result.history[metric], values, rtol=2e-5, atol=1e-7, err_msg=f"{name}: {metric}")


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_the_optimiser_step_is_fused_on_the_cpu(optimizer):
    config = gu.presets.nanda("smoke", optimizer=optimizer, device="cpu")
    model = torch.nn.Linear(3, 2)
    built = gu.train.make_optimizer(config, model.parameters())
    assert built.defaults["fused"] is True and len(built.param_groups[0]["params"]) == 2


def test_parameters_without_a_fused_kernel_take_the_multi_tensor_step():
    config = gu.presets.nanda("smoke", device="cpu")
    parameters = [torch.nn.Parameter(torch.zeros(3, dtype=torch.complex64))]
    built = gu.train.make_optimizer(config, parameters)
    assert not built.defaults.get("fused") and built.defaults["foreach"] is True


def test_the_fused_step_equals_the_per_parameter_step_to_rounding():
    """One step from the same state: the per-parameter AdamW (PyTorch's CPU default) and the fused one."""
    config = gu.presets.collapse_mnist("smoke", device="cpu")
    torch.manual_seed(0)
    models = [gu.models.build(config, (1, 28, 28), 10) for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    x, y = torch.randn(100, 1, 28, 28), torch.arange(100) % 10
    plain = torch.optim.AdamW(models[0].parameters(), lr=config.lr, betas=config.betas,
                              weight_decay=config.weight_decay, foreach=False)
    optimizers = [plain, gu.train.make_optimizer(config, models[1].parameters())]
    for _ in range(5):
        for model, optimizer in zip(models, optimizers):
            optimizer.zero_grad()
            gu.train.objective(config, model(x), y).backward()
            optimizer.step()
    for a, b in zip(*(model.parameters() for model in models)):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_after_the_warm_up_the_learning_rate_stays_put():
    config = gu.presets.nanda("smoke", num_steps=25, eval_schedule="every:5", d_model=16, d_mlp=32, device="cpu")
    seen = []
    original = gu.train.Gradients.__call__

    def record(self, x, y, *rest):
        seen.append(self.optimizer.param_groups[0]["lr"])
        return original(self, x, y, *rest)

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(gu.train.Gradients, "__call__", record)
    try:
        gu.train.train(config, progress=False)
    finally:
        monkeypatch.undo()
    expected = [config.lr * min(1.0, (step + 1) / config.warmup_steps) for step in range(25)]
    assert seen == pytest.approx(expected, rel=1e-12)


def _trained(optimizer_class, steps: int = 6, hook: bool = False, **options):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.ReLU(), torch.nn.Linear(7, 3))
    optimizer = optimizer_class(model.parameters(), lr=1e-2, betas=(0.9, 0.98), weight_decay=0.3, **options)
    calls = []
    if hook:
        optimizer.register_step_post_hook(lambda *args: calls.append(1))
    x, y = torch.randn(16, 5), torch.randn(16, 3)
    for _ in range(steps):
        optimizer.zero_grad()
        ((model(x) - y) ** 2).sum().backward()
        optimizer.step()
    return model, optimizer, calls


@pytest.mark.parametrize("hook", [False, True], ids=["direct", "with-a-hook"])
def test_the_direct_fused_step_equals_pytorchs_fused_step_bit_for_bit(hook):
    direct, optimizer, calls = _trained(gu.steps.FusedAdamW, hook=hook)
    reference, reference_optimizer, _ = _trained(torch.optim.AdamW, fused=True)
    for a, b in zip(direct.parameters(), reference.parameters()):
        assert torch.equal(a, b)
    for a, b in zip(optimizer.state.values(), reference_optimizer.state.values()):
        assert all(torch.equal(a[k], b[k]) for k in ("step", "exp_avg", "exp_avg_sq"))
    assert len(calls) == (6 if hook else 0)  # with a hook every step is PyTorch's own, and runs it


def test_the_direct_fused_step_resumes_from_a_saved_state():
    model, optimizer, _ = _trained(gu.steps.FusedAdamW, steps=3)
    again, resumed, _ = _trained(gu.steps.FusedAdamW, steps=0)
    again.load_state_dict(model.state_dict())
    resumed.load_state_dict(copy.deepcopy(optimizer.state_dict()))  # as a checkpoint holds it
    for network, opt in ((model, optimizer), (again, resumed)):
        for parameter in network.parameters():
            parameter.grad = torch.ones_like(parameter)
        opt.step()
    for a, b in zip(model.parameters(), again.parameters()):
        assert torch.equal(a, b)
