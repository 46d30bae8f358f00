"""Training on a GPU: ``device="auto"`` (every preset's) picks CUDA where it exists, in the training loop and in
the sweep engine alike; one short training and one sweep on the GPU record what the CPU records.

The device-selection tests run everywhere (``torch.cuda.is_available`` replaced, or the resolver spied on). The
GPU tests run only where CUDA is visible and are skipped with a reason otherwise: a few tens of steps of tiny
models, seconds on a GPU. They compare with the same configurations trained on the CPU: same evaluation steps,
finite losses, accuracies in [0, 1], and every series within :data:`RTOL` / :data:`ATOL` (accuracies within
:data:`ACC_ATOL`). The tolerances: CUDA's float32 kernels (TF32 is off for matmuls by default) sum in another
order than the CPU's, about 1e-7 relative per operation; on the CPU a 1e-6 relative perturbation of the initial
weights moves these histories by about 1e-8 relative after 30 steps, so 1e-3 leaves a wide margin, while a run
on another device, with other data or another initialisation differs by far more. An accuracy may flip one
example at a near tie (one example is 0.004 of the smoke task's ~265 train or test pairs, 0.001 of MNIST's
1,000).
"""

from __future__ import annotations

import math

import pytest
import torch

import grokutils as gu
from grokutils import train as training

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason=(
    "no CUDA device on this machine: the GPU training tests run where torch.cuda.is_available() "
    f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'})"))
RTOL, ATOL, ACC_ATOL = 1e-3, 1e-4, 0.01
ACCURACIES = ("train_acc", "test_acc")


def tiny_nanda(device: str) -> gu.Config:
    """Nanda's smoke setup (p = 23, full batch, float64 loss) with a small transformer, 30 steps."""
    return gu.presets.nanda("smoke", d_model=32, d_mlp=64, num_steps=30, device=device)


def tiny_mnist_sweep(device: str) -> list[gu.Config]:
    """Three one-layer MLPs on MNIST, minibatch 100 (the batches are drawn on the CPU: the same on any device)."""
    base = gu.presets.omnigrok_mnist("smoke", widths=(32,), num_steps=20, batch_size=100,
                                     eval_schedule="every:5", device=device)
    return [base.replace(seed=0), base.replace(seed=1, weight_decay=0.5), base.replace(seed=2, init_scale=2.0)]


def assert_sane(result: gu.Result) -> None:
    """Device-independent content: the configured evaluations, finite losses, accuracies in [0, 1]."""
    assert result.complete and result.steps[-1] == result.config.num_steps
    for name in ("train_loss", "test_loss"):
        assert all(math.isfinite(v) for v in result.history[name]), name
    for name in ACCURACIES:
        assert all(0.0 <= v <= 1.0 for v in result.history[name]), name


def assert_matches_cpu(gpu: gu.Result, cpu: gu.Result) -> None:
    assert gpu.steps == cpu.steps and sorted(gpu.history) == sorted(cpu.history)
    for name in gpu.history:
        if name == "wall_time":
            continue
        tolerance = {"rtol": 0.0, "atol": ACC_ATOL} if name in ACCURACIES else {"rtol": RTOL, "atol": ATOL}
        torch.testing.assert_close(torch.tensor(gpu.history[name], dtype=torch.float64),
                                   torch.tensor(cpu.history[name], dtype=torch.float64), **tolerance,
                                   msg=lambda m, name=name: f"series {name!r}, CUDA against CPU: {m}")


# ------------------------------------------------------------------ device selection (any machine)
def test_auto_picks_cuda_first_then_mps_then_the_cpu(monkeypatch):
    mps = getattr(torch.backends, "mps", None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert training.resolve_device("auto") == torch.device("cuda")
    assert training.resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    if mps is not None:
        monkeypatch.setattr(mps, "is_available", lambda: False)
    assert training.resolve_device("auto") == torch.device("cpu")
    with pytest.raises(RuntimeError, match="device='cuda' was asked for but no CUDA device"):
        training.resolve_device("cuda")
    if mps is not None:
        monkeypatch.setattr(mps, "is_available", lambda: True)
        assert training.resolve_device("auto") == torch.device("mps")


def test_the_presets_leave_the_device_to_auto():
    assert gu.presets.nanda("paper").device == "auto" and gu.presets.omnigrok_mnist("paper").device == "auto"
    assert all(c.device == "auto" for c in gu.presets.collapse_sweep("paper"))


def test_run_and_run_sweep_resolve_the_configs_device(monkeypatch, store):
    """Both loops place a run where ``resolve_device(config.device)`` says (here spied on, answering the CPU)."""
    asked = []

    def resolve(name: str = "auto") -> torch.device:
        asked.append(name)
        return torch.device("cpu")

    monkeypatch.setattr(training, "resolve_device", resolve)
    config = tiny_nanda("auto").replace(num_steps=4, eval_schedule="every:2")
    assert gu.run(config, store, progress=False).env["device"] == "cpu"
    assert asked == ["auto"]
    sweep = [c.replace(num_steps=4) for c in tiny_mnist_sweep("auto")[:2]]
    assert [r.env["device"] for r in gu.run_sweep(sweep, store, progress=False)] == ["cpu", "cpu"]
    assert asked[1:] and set(asked) == {"auto"}


# ------------------------------------------------------------------ on the GPU (where there is one)
@CUDA
def test_one_short_training_on_the_gpu_records_what_the_cpu_records(store):
    result = gu.run(tiny_nanda("cuda"), store, progress=False)
    assert result.env["device"].startswith("cuda") and result.env["gpu"]
    assert_sane(result)
    assert store.load(tiny_nanda("cuda")) == result  # stored and read back like any run
    assert_matches_cpu(result, training.train(tiny_nanda("cpu"), progress=False))


@CUDA
@pytest.mark.parametrize("strategy", gu.sweep.STRATEGIES)
def test_a_sweep_under_auto_trains_on_the_gpu_and_records_what_the_cpu_records(mnist_offline, strategy):
    gpu = gu.sweep.train_sweep(tiny_mnist_sweep("auto"), dataset=mnist_offline, progress=False, strategy=strategy)
    cpu = gu.sweep.train_sweep(tiny_mnist_sweep("cpu"), dataset=mnist_offline, progress=False, strategy=strategy)
    assert [r.env["device"].split(":")[0] for r in gpu] == ["cuda"] * 3
    assert [r.env["device"] for r in cpu] == ["cpu"] * 3
    for on_gpu, on_cpu in zip(gpu, cpu):
        assert_sane(on_gpu)
        assert_matches_cpu(on_gpu, on_cpu)
