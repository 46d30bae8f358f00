"""The training loop: recorded series, weight norm, NaN guard, checkpoint + resume, minibatches."""

from __future__ import annotations

import math

import pytest
import torch

import grokutils as gu
from grokutils.config import eval_steps
from grokutils.train import BatchSampler, TrainingDiverged, train

import conftest

BASIC_SERIES = {"train_acc", "test_acc", "train_loss", "test_loss", "weight_norm", "wall_time"}


def test_smoke_run_records_basic_series_at_eval_steps():
    config = gu.presets.nanda("smoke", d_model=32, d_mlp=64, device="cpu")  # p = 23, 40 steps, every:10
    result = train(config, progress=False)
    expected_steps = eval_steps(config.eval_schedule, config.num_steps)
    assert result.steps == expected_steps == [0, 10, 20, 30, 40]
    assert set(result.history) == BASIC_SERIES
    for name, series in result.history.items():
        assert len(series) == len(expected_steps), name
        assert all(isinstance(v, float) and math.isfinite(v) for v in series), name
    for name in ("train_acc", "test_acc"):
        assert all(0.0 <= v <= 1.0 for v in result.history[name])
    wall = result.history["wall_time"]
    assert all(b >= a for a, b in zip(wall, wall[1:])) and wall[0] >= 0
    # it learns something on the training set in 40 steps of AdamW
    assert result.history["train_loss"][-1] < result.history["train_loss"][0]
    assert result.config == config
    assert set(result.timings) >= {"train_s", "eval_s", "ms_per_step"}
    assert result.env["device"] == "cpu"
    assert isinstance(result.model, torch.nn.Module)


def test_history_matches_evaluation_of_the_returned_model(tiny_nanda):
    result = train(tiny_nanda, progress=False)
    data = gu.data.load(tiny_nanda)
    model = result.model.eval()
    with torch.no_grad():
        train_acc = float((model(data.x_train).argmax(-1) == data.y_train).float().mean())
        test_loss = float(torch.nn.functional.cross_entropy(model(data.x_test), data.y_test))
    assert result.history["train_acc"][-1] == pytest.approx(train_acc)
    assert result.history["test_loss"][-1] == pytest.approx(test_loss, rel=1e-5)
    assert result.history["weight_norm"][-1] == pytest.approx(gu.metrics.weight_norm(model), rel=1e-9)


def test_paper_schedule_steps(tiny_nanda):
    config = tiny_nanda.replace(num_steps=35, eval_schedule="paper", d_model=8, num_heads=2, d_mlp=8)
    result = train(config, progress=False)
    assert result.steps == list(range(30)) + [30, 35]


@pytest.mark.parametrize("config_fn", [
    lambda: gu.presets.nanda("smoke", d_model=32, d_mlp=64, num_steps=0, device="cpu"),
    lambda: gu.presets.nanda("smoke", model="mlp", d_model=16, widths=(32,), init_scale=3.0, num_steps=0,
                             device="cpu"),
    lambda: gu.presets.omnigrok_mnist("smoke", widths=(32,), num_steps=0, device="cpu"),
], ids=["transformer", "embed-mlp", "mnist-mlp-x8"])
def test_weight_norm_at_step_zero_is_that_of_a_fresh_model(config_fn):
    config = config_fn()
    result = train(config, progress=False)
    assert result.steps == [0]
    data = gu.data.load(config)
    fresh = gu.models.build(config, data.input_shape, data.num_classes, data.vocab_size)
    expected = math.sqrt(sum(float((p.detach().double() ** 2).sum()) for p in fresh.parameters()))
    assert result.history["weight_norm"][0] == pytest.approx(expected, rel=1e-9)


def test_representation_norm_metric_is_recorded(tiny_nanda):
    config = tiny_nanda.replace(metrics=("representation_norm",), num_steps=10)
    result = train(config, progress=False)
    series = result.history["representation_norm"]
    assert len(series) == len(result.steps) and all(v > 0 for v in series)


def test_user_callback_values_appear_in_history(tiny_nanda):
    seen = []

    def callback(context: gu.train.EvalContext) -> dict:
        seen.append(context.step)
        assert context.config == tiny_nanda
        assert not context.model.training  # evaluation mode
        return {"step_squared": float(context.step ** 2), "num_train": float(len(context.data.y_train))}

    result = train(tiny_nanda, callbacks=[callback], progress=False)
    assert seen == result.steps
    assert result.history["step_squared"] == [float(s * s) for s in result.steps]
    assert result.history["num_train"] == [float(round(0.5 * 23 * 23))] * len(result.steps)


def test_training_is_reproducible(tiny_nanda):
    config = tiny_nanda.replace(num_steps=10)
    a, b = train(config, progress=False), train(config, progress=False)
    assert a.steps == b.steps
    for name in a.history:
        if name != "wall_time":
            assert a.history[name] == b.history[name], name


def test_explicit_dataset_is_used(tiny_nanda):
    data = gu.data.algorithmic("add", 23, 0.5, data_seed=7)
    config = tiny_nanda.replace(num_steps=0)
    seen = []
    train(config, dataset=data, callbacks=[lambda c: seen.append(c.data.y_train) or {}], progress=False)
    assert torch.equal(seen[0], data.y_train)


# ------------------------------------------------------------------- NaN guard
def test_divergence_raises_naming_lr():
    config = gu.presets.nanda("smoke", d_model=16, d_mlp=32, num_heads=4, loss="mse", loss_reduction="sum",
                              lr=1e4, warmup_steps=0, num_steps=20, eval_schedule="every:1", device="cpu")
    with pytest.raises(TrainingDiverged, match=r"lr \(now 10000\.0\)") as info:
        train(config, progress=False)
    message = str(info.value)
    assert "diverged at step" in message
    assert "init_scale" in message and "loss_reduction" in message
    assert isinstance(info.value, RuntimeError)


def test_check_finite_passes_finite_rows():
    gu.train.check_finite({"train_loss": 1.0, "weight_norm": 3.0}, 5, gu.Config())
    with pytest.raises(TrainingDiverged, match="weight_norm"):
        gu.train.check_finite({"train_loss": 1.0, "weight_norm": float("inf")}, 5, gu.Config())


# -------------------------------------------------------- checkpoint + resume
class Interrupt(conftest.Interrupt):
    """conftest's interrupting callback that also records the step (to check resumed histories)."""

    def __call__(self, context) -> dict:
        super().__call__(context)
        return {"callback_step": float(context.step)}


def assert_same_history(a, b, atol=1e-6):
    assert a.steps == b.steps
    assert sorted(a.history) == sorted(b.history)
    for name in a.history:
        if name != "wall_time":
            torch.testing.assert_close(torch.tensor(a.history[name], dtype=torch.float64),
                                       torch.tensor(b.history[name], dtype=torch.float64),
                                       atol=atol, rtol=atol, msg=lambda m, name=name: f"{name}: {m}")


@pytest.mark.parametrize("config_fn, interrupt_at", [
    (lambda: gu.presets.nanda("smoke", d_model=32, d_mlp=64, num_steps=30, device="cpu"), 20),
    (lambda: gu.presets.nanda("smoke", d_model=16, d_mlp=32, num_steps=30, batch_size=64,
                              eval_schedule="every:5", device="cpu"), 15),
    (lambda: gu.presets.nanda("smoke", d_model=16, d_mlp=32, num_steps=12, eval_schedule="every:2",
                              device="cpu"), 6),
    (lambda: gu.presets.nanda("smoke", model="mlp", d_model=16, widths=(32,), optimizer="sgd", lr=0.3,
                              momentum=0.9, num_steps=12, eval_schedule="every:3", device="cpu"), 9),
], ids=["full-batch", "minibatch", "during-warmup", "sgd-momentum"])
def test_checkpoint_resume_equals_uninterrupted_run(tmp_path, config_fn, interrupt_at):
    config = config_fn()
    checkpoint = tmp_path / "ckpt" / "run.pt"
    reference = train(config, callbacks=[Interrupt(-1)], progress=False)

    interrupt = Interrupt(interrupt_at)
    with pytest.raises(KeyboardInterrupt):
        train(config, callbacks=[interrupt], progress=False, checkpoint_path=checkpoint, checkpoint_every_s=0)
    assert interrupt.fired and checkpoint.exists()
    state = torch.load(checkpoint, weights_only=True)
    assert state["key"] == config.key()
    assert state["steps"][-1] < interrupt_at  # saved at the last completed evaluation
    assert not list(checkpoint.parent.glob("*.tmp"))

    resumed_steps = []

    def record(context):
        resumed_steps.append(context.step)
        return {"callback_step": float(context.step)}

    resumed = train(config, callbacks=[record], progress=False, checkpoint_path=checkpoint,
                    checkpoint_every_s=0)
    # only the missing evaluations ran, and the result equals the uninterrupted run
    assert resumed_steps == [s for s in reference.steps if s >= interrupt_at]
    assert_same_history(resumed, reference)
    for name, parameter in resumed.model.state_dict().items():
        torch.testing.assert_close(parameter, reference.model.state_dict()[name], atol=1e-6, rtol=1e-6)


def test_checkpoint_of_another_config_is_ignored(tmp_path, tiny_nanda):
    checkpoint = tmp_path / "run.pt"
    other = tiny_nanda.replace(lr=3e-3)
    train(other, progress=False, checkpoint_path=checkpoint, checkpoint_every_s=0)
    assert torch.load(checkpoint, weights_only=True)["key"] == other.key()
    reference = train(tiny_nanda, progress=False)
    seen = []
    result = train(tiny_nanda, callbacks=[lambda c: seen.append(c.step) or {}], progress=False,
                   checkpoint_path=checkpoint, checkpoint_every_s=0)
    assert seen == result.steps == reference.steps  # trained from step 0
    assert_same_history(result, reference)


def test_checkpoint_not_written_without_path_or_before_interval(tmp_path, tiny_nanda):
    checkpoint = tmp_path / "run.pt"
    train(tiny_nanda.replace(num_steps=10), progress=False, checkpoint_path=checkpoint, checkpoint_every_s=3600)
    assert not checkpoint.exists()


# ------------------------------------------------------------------ minibatch
def test_batch_sampler_full_batch_returns_none():
    for batch_size in (None, 100, 1000):
        sampler = BatchSampler(100, batch_size, seed=0, device=torch.device("cpu"))
        assert sampler.full
        assert all(sampler(step) is None for step in range(5))


@pytest.mark.parametrize("num_samples, batch_size", [(100, 10), (120, 40), (1000, 200)])
def test_batch_sampler_epochs_are_permutations(num_samples, batch_size):
    sampler = BatchSampler(num_samples, batch_size, seed=3, device=torch.device("cpu"))
    per_epoch = num_samples // batch_size
    epochs = []
    for epoch in range(3):
        batches = [sampler(epoch * per_epoch + k) for k in range(per_epoch)]
        assert all(b.shape == (batch_size,) and b.dtype == torch.int64 for b in batches)
        order = torch.cat(batches)
        assert sorted(order.tolist()) == list(range(num_samples))
        epochs.append(order)
    assert not torch.equal(epochs[0], epochs[1]) and not torch.equal(epochs[1], epochs[2])


def test_batch_sampler_drops_the_remainder_but_never_repeats_within_an_epoch():
    sampler = BatchSampler(105, 20, seed=0, device=torch.device("cpu"))
    assert sampler.per_epoch == 5
    order = torch.cat([sampler(k) for k in range(5)])
    assert len(set(order.tolist())) == 100


def test_batch_sampler_is_deterministic_per_seed_and_epoch():
    device = torch.device("cpu")
    a = BatchSampler(60, 20, seed=1, device=device)
    b = BatchSampler(60, 20, seed=1, device=device)
    c = BatchSampler(60, 20, seed=2, device=device)
    steps = [0, 1, 2, 3, 7, 5, 4, 100, 0]  # random access, including going back to an earlier epoch
    fresh = [BatchSampler(60, 20, seed=1, device=device)(s) for s in steps]
    for step, expected in zip(steps, fresh):
        assert torch.equal(a(step), expected) and torch.equal(b(step), expected)
    assert not all(torch.equal(a(s), c(s)) for s in range(3))


def test_warmup_factor():
    factor = gu.train.warmup_factor(gu.Config(warmup_steps=10))
    assert [factor(s) for s in (0, 4, 9, 10, 1000)] == [0.1, 0.5, 1.0, 1.0, 1.0]
    assert gu.train.warmup_factor(gu.Config(warmup_steps=0))(0) == 1.0


def test_mse_objective_sums_over_classes_and_batch():
    config = gu.Config(task="mnist", model="mlp", loss="mse", loss_reduction="sum")
    logits = torch.tensor([[0.5, 0.0, 0.0], [0.0, 0.0, 2.0]])
    labels = torch.tensor([0, 1])
    assert float(gu.train.objective(config, logits, labels)) == pytest.approx(0.25 + 1 + 4)
    assert float(gu.train.objective(config, logits, labels, reduction="mean")) == pytest.approx(5.25 / 6)


def test_registered_collapse_and_spectral_metrics_are_recorded_at_every_evaluation():
    config = gu.presets.nanda("smoke", d_model=32, d_mlp=64, num_steps=20, metrics=("collapse", "spectral", "fourier"))
    result = gu.train.train(config, progress=False)
    for name in ("rnc1", "nc1", "nc2", "within_class_variance", "spectral_entropy", "effective_rank",
                 "fourier_alignment"):
        assert len(result.history[name]) == len(result.steps), name
    assert all(0 <= h <= 1 for h in result.history["spectral_entropy"])


def test_check_finite_lets_infinite_metrics_through():
    gu.train.check_finite({"train_loss": 1.0, "test_loss": 2.0, "weight_norm": 3.0, "nc2": float("inf")}, 5,
                          gu.Config())


# ------------------------------------------------- checkpoints: safe to read, saved early
class Exploit:
    """An object whose unpickling runs code (what ``weights_only=False`` would execute)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_checkpoints_hold_only_what_weights_only_reads(tmp_path, tiny_nanda):
    import numpy as np

    checkpoint = tmp_path / "run.pt"

    def numpy_values(context):
        return {"np_scalar": np.float64(context.step) / 3, "np_array": np.arange(2) * context.step}

    with pytest.raises(KeyboardInterrupt):
        train(tiny_nanda, callbacks=[numpy_values, conftest.Interrupt(20)], progress=False,
              checkpoint_path=checkpoint, checkpoint_every_s=0)
    state = torch.load(checkpoint, weights_only=True)
    assert state["key"] == tiny_nanda.key() and state["history"]["np_scalar"][1] == 10 / 3
    assert state["history"]["np_array"][1] == [0, 10]
    reference = train(tiny_nanda, callbacks=[numpy_values], progress=False)
    resumed = train(tiny_nanda, callbacks=[numpy_values], progress=False, checkpoint_path=checkpoint,
                    checkpoint_every_s=0)
    assert resumed.history["np_scalar"] == reference.history["np_scalar"]
    assert [list(v) for v in resumed.history.pop("np_array")] == [list(v) for v in reference.history.pop("np_array")]
    assert_same_history(resumed, reference, atol=0)


def test_a_value_a_checkpoint_cannot_hold_is_named():
    with pytest.raises(ValueError, match=r"history\['x'\]\[1\] is a object"):
        gu.train.checkpoint_safe({"x": [1.0, object()]}, "history")
    assert gu.train.checkpoint_safe((1, {"a": None})) == (1, {"a": None})


@pytest.mark.parametrize("damage", ["truncated", "code", "not-a-checkpoint"])
def test_an_unreadable_or_unsafe_checkpoint_is_moved_aside_and_training_starts_over(tmp_path, tiny_nanda, damage):
    checkpoint, marker = tmp_path / "run.pt", tmp_path / "pwned"
    if damage == "truncated":
        train(tiny_nanda, progress=False, checkpoint_path=checkpoint, checkpoint_every_s=0)
        checkpoint.write_bytes(checkpoint.read_bytes()[:200])
    elif damage == "code":
        torch.save({"key": tiny_nanda.key(), "step": 10, "payload": Exploit(marker)}, checkpoint)
    else:
        torch.save([1, 2, 3], checkpoint)
    damaged = checkpoint.read_bytes()
    seen = []
    with pytest.warns(gu.train.CorruptCheckpointWarning, match=r"run\.pt could not be read.*run\.pt\.corrupt"):
        result = train(tiny_nanda, callbacks=[lambda c: seen.append(c.step) or {}], progress=False,
                       checkpoint_path=checkpoint, checkpoint_every_s=0)
    assert not marker.exists()  # the pickled code never ran
    assert (tmp_path / "run.pt.corrupt").read_bytes() == damaged
    assert seen[0] == 0
    assert_same_history(result, train(tiny_nanda, progress=False), atol=0)


def test_a_checkpoint_is_saved_every_n_steps_whatever_the_clock(tmp_path, tiny_nanda):
    config = tiny_nanda.replace(num_steps=30, eval_schedule="every:2")
    checkpoint = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):
        train(config, callbacks=[conftest.Interrupt(26)], progress=False, checkpoint_path=checkpoint,
              checkpoint_every_s=3600, checkpoint_every_steps=10)
    assert torch.load(checkpoint, weights_only=True)["step"] == 20  # saved at 10 and 20, not at 22 or 24


def test_the_first_checkpoint_comes_after_seconds_then_intervals_double_up_to_every_s(monkeypatch, tmp_path):
    clock = [0.0]
    monkeypatch.setattr(gu.train.time, "perf_counter", lambda: clock[0])
    checkpointer = gu.train.Checkpointer(tmp_path / "c.pt", "key", every_s=60, every_steps=None, first_s=5)
    checkpointer.start(0)
    saved = []
    for second in range(0, 200):
        clock[0] = float(second)
        if checkpointer.maybe_save(lambda: {"step": second}, step=second):
            saved.append(second)
    assert saved == [5, 15, 35, 75, 135, 195]


@pytest.mark.parametrize("call, message", [
    (lambda c: train(c.to_dict()), "config must be a grokutils.Config, got dict"),
    (lambda c: train(c, dataset=[1, 2]), "dataset must be a grokutils.data.Dataset"),
    (lambda c: train(c, callbacks=[print, "x"]), r"callbacks\[1\] = 'x' is not callable"),
    (lambda c: train(c, callbacks=print), "callbacks must be a list"),
    (lambda c: train(c, progress="yes"), "progress='yes'"),
    (lambda c: train(c, checkpoint_path=3), "checkpoint_path must be a path"),
    (lambda c: train(c, checkpoint_every_s=-1), "checkpoint_every_s=-1"),
    (lambda c: train(c, checkpoint_every_steps=0), "checkpoint_every_steps=0"),
])
def test_bad_arguments_are_refused_before_training(tiny_nanda, monkeypatch, call, message):
    monkeypatch.setattr(gu.data, "load", lambda *a, **k: pytest.fail("loaded data before checking its arguments"))
    with pytest.raises(ValueError, match=message):
        call(tiny_nanda)


def test_a_batch_as_large_as_the_given_dataset_is_full_batch_and_says_so(tiny_nanda):
    """An explicit dataset (nothing is stored) smaller than the config's: a warning, not an error."""
    data = gu.data.algorithmic("add", 7, 0.5)  # 24 training pairs, fewer than the config's own 264
    with pytest.warns(UserWarning, match="batch_size = 24 is at least the 24 training samples.*full batch"):
        train(tiny_nanda.replace(batch_size=24, num_steps=2), dataset=data, progress=False)


# ------------------------------------------------------------ loss precision
def test_the_float64_loss_is_computed_in_double_precision():
    config = gu.presets.nanda("smoke", device="cpu", loss_dtype="float64")
    logits = torch.tensor([[30.0, 0.0, -5.0]])  # a softmax that float32 saturates: p = 1 - 9.4e-14
    labels = torch.tensor([0])
    double = gu.train.objective(config, logits, labels)
    single = gu.train.objective(config.replace(loss_dtype="float32"), logits, labels)
    assert double.dtype == torch.float64 and single.dtype == torch.float32
    assert float(single) == 0.0  # float32 rounds log(1 + 9.4e-14) to 0
    assert float(double) == pytest.approx(math.log1p(math.exp(-30) + math.exp(-35)), rel=1e-9)
    mse = config.replace(loss="mse")
    assert gu.train.objective(mse, logits, labels).dtype == torch.float64


def test_a_float64_loss_trains_a_float32_model_and_records_float64_losses():
    config = gu.presets.nanda("smoke", d_model=16, d_mlp=32, num_steps=20, device="cpu", loss_dtype="float64")
    result = train(config, progress=False)
    assert all(p.dtype == torch.float32 for p in result.model.parameters())
    single = train(config.replace(loss_dtype="float32"), progress=False)
    # early in training the two precisions train the same run to float32 rounding
    assert result.history["train_loss"] == pytest.approx(single.history["train_loss"], rel=1e-4)
    assert result.config.key() != single.config.key()


# ------------------------------------------------------------ compiled step
def test_compile_is_wanted_for_long_transformer_runs_only(monkeypatch):
    monkeypatch.delenv(gu.train.COMPILE_ENV, raising=False)
    cpu = torch.device("cpu")
    paper = gu.presets.nanda("paper")
    has_compiler = gu.train.compile_wanted(paper, 3831, cpu)  # 14,000 steps x 3,831 samples = 54 M
    assert not gu.train.compile_wanted(gu.presets.nanda("quick"), 1740, cpu)  # 5 M
    part3 = gu.presets.spectral_main("paper")[0]  # 20,000 steps x batch 512 = 10 M
    assert gu.train.compile_wanted(part3, 2822, cpu) == has_compiler
    assert not gu.train.compile_wanted(gu.presets.spectral_main("quick")[0], 2822, cpu)
    assert not gu.train.compile_wanted(gu.presets.nanda("smoke"), 264, cpu)
    assert not gu.train.compile_wanted(gu.presets.collapse_mnist("paper"), 1000, cpu)  # the MLP: no faster
    assert not gu.train.compile_wanted(paper, 3831, torch.device("mps"))
    assert not gu.train.compile_wanted(paper.replace(mixing_alpha=0.1), 3831, cpu)
    monkeypatch.setenv(gu.train.COMPILE_ENV, "0")
    assert not gu.train.compile_wanted(paper, 3831, cpu)
    monkeypatch.setenv(gu.train.COMPILE_ENV, "1")
    assert gu.train.compile_wanted(gu.presets.collapse_mnist("smoke"), 1000, cpu) == has_compiler


def test_a_failing_compiled_step_warns_and_trains_eagerly(monkeypatch, tiny_nanda):
    def broken():
        def fail(*args):
            raise RuntimeError("no compiler here\nsecond line")
        return fail

    monkeypatch.setattr(gu.steps, "_compiled_forward", broken)
    monkeypatch.setattr(gu.train, "compile_wanted", lambda *args: True)
    with pytest.warns(RuntimeWarning, match="torch.compile of the training step failed .RuntimeError: no compiler"):
        result = train(tiny_nanda, progress=False)
    monkeypatch.undo()
    assert result.env["compiled"] is False
    eager = train(tiny_nanda, progress=False)
    assert result.history | {"wall_time": None} == eager.history | {"wall_time": None}


@pytest.mark.slow
def test_the_compiled_step_trains_the_same_run_to_float_tolerance(monkeypatch):
    """``torch.compile`` of the transformer's step (first compilation: tens of seconds)."""
    config = gu.presets.nanda("smoke", d_model=32, d_mlp=64, num_steps=20, eval_schedule="every:5", device="cpu")
    monkeypatch.setenv(gu.train.COMPILE_ENV, "0")
    eager = train(config, progress=False)
    monkeypatch.setenv(gu.train.COMPILE_ENV, "1")
    if not gu.train.compile_wanted(config, 264, torch.device("cpu")):
        pytest.skip("no C++ compiler for TorchInductor here")
    compiled = train(config, progress=False)
    assert compiled.env["compiled"] is True and eager.env["compiled"] is False
    for name in ("train_loss", "test_loss", "weight_norm", "train_acc"):
        assert compiled.history[name] == pytest.approx(eager.history[name], rel=1e-4, abs=1e-6), name


def test_a_float64_loss_is_refused_on_mps_before_any_work(monkeypatch, tiny_nanda):
    tiny_nanda = tiny_nanda.replace(loss_dtype="float64")
    monkeypatch.setattr(gu.train, "resolve_device", lambda name: torch.device("mps"))
    monkeypatch.setattr(gu.data, "load", lambda *a, **k: pytest.fail("loaded data before checking the device"))
    with pytest.raises(ValueError, match="loss_dtype = 'float64' cannot run on Apple's MPS"):
        train(tiny_nanda, progress=False)
    with pytest.raises(ValueError, match="loss_dtype = 'float64' cannot run on Apple's MPS"):
        gu.sweep.train_sweep([tiny_nanda, tiny_nanda.replace(seed=1)], progress=False)
