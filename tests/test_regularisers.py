"""Part IV's regularisers (grokutils.regularisers; Han et al. 2025, Sections 5-6): the batch NCC and κ equal the
metrics, their gradients equal finite differences, λ = 0 changes nothing, −λ·NCC and −λ·κ raise what they
regularise, the flatness regulariser is unplugged at exactly its step, runs resume bit for bit, the sweep trains
them one by one, and every invalid configuration is refused naming the field."""

from __future__ import annotations

import dataclasses
import math
import re

import pytest
import torch
from torch.func import functional_call

import grokutils as gu
from grokutils import config_checks, regularisers
from grokutils.losses import objective
from grokutils.metrics import collapse, flatness

import conftest
import test_kill_resume

NANDA = gu.presets.nanda("smoke", d_model=16, d_mlp=32, num_steps=24, eval_schedule="every:4", device="cpu")
TOY = gu.Config(task="mnist", model="mlp", widths=(16,), num_train=100, lr=3e-3, weight_decay=0.0, warmup_steps=0,
                num_steps=30, eval_schedule="every:5", device="cpu")


def toy_dataset(seed: int = 0, classes: int = 4, per_class: int = 12, dim: int = 8) -> gu.data.Dataset:
    """Gaussian clusters, one per class, split in half: a problem the MLP fits in a few steps."""
    g = torch.Generator().manual_seed(seed)
    centres = 2.0 * torch.randn(classes, dim, generator=g)
    y = torch.arange(classes).repeat_interleave(2 * per_class)
    x = centres[y] + torch.randn(len(y), dim, generator=g)
    train, test = torch.arange(len(y)) % 2 == 0, torch.arange(len(y)) % 2 == 1
    return gu.data.Dataset(x[train], y[train], x[test], y[test], num_classes=classes)


def assert_same_run(a: gu.Result, b: gu.Result) -> None:
    """Bit for bit: every recorded value but the wall time, and every parameter."""
    assert a.steps == b.steps
    assert {k: v for k, v in a.history.items() if k != "wall_time"} == \
           {k: v for k, v in b.history.items() if k != "wall_time"}
    for name, tensor in a.model.state_dict().items():
        assert torch.equal(tensor, b.model.state_dict()[name]), name


# ------------------------------------------------------------------ the measures
@pytest.mark.parametrize("labels", [
    [0, 0, 1, 1, 2, 2, 3, 3, 4, 4], [0, 0, 0, 1, 1, 3, 3, 3, 3, 2], [1, 1, 1, 4, 4, 4, 4, 1, 4, 1],
], ids=["balanced", "unbalanced", "two-of-five-classes"])
def test_the_batch_ncc_is_the_metric_on_the_classes_the_batch_holds(labels):
    g = torch.Generator().manual_seed(1)
    features, labels = torch.randn(10, 6, generator=g, dtype=torch.float64), torch.tensor(labels)
    value = regularisers.batch_ncc(features, labels, num_classes=5)
    assert value.dtype == torch.float64
    assert float(value) == pytest.approx(collapse.ncc(features, labels), rel=1e-12)
    averaged = regularisers.batch_ncc(features, labels, num_classes=5, averaged=True)
    assert float(averaged) == pytest.approx(collapse.ncc_mean(features, labels), rel=1e-12)


def test_the_batch_ncc_is_finite_where_the_metric_refuses():
    features = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    one_class = regularisers.batch_ncc(features, torch.zeros(6, dtype=torch.long), 4)
    assert float(one_class.detach()) == 0.0  # no pair of classes
    zeros = torch.zeros(6, 3, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    with pytest.raises(ValueError, match="coincide"):
        collapse.ncc(zeros, labels)
    collapsed = regularisers.batch_ncc(zeros, labels, 3)
    collapsed.backward()
    assert float(collapsed.detach()) == 0.0 and bool(torch.isfinite(zeros.grad).all())


def test_the_batch_kappa_is_the_closed_form_metric_also_when_the_softmax_saturates():
    g = torch.Generator().manual_seed(2)
    features = torch.randn(12, 5, generator=g, dtype=torch.float64)
    weight, bias = torch.randn(4, 5, generator=g, dtype=torch.float64), torch.randn(4, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 4, (12,), generator=g)
    for scale in (1.0, 30.0):  # 30: logit gaps of hundreds, 1 − max p far below 1e-12
        logits = (scale * features) @ weight.T + bias
        value = regularisers.batch_relative_flatness(scale * features, logits, weight)
        expected = flatness.relative_flatness_closed_form(scale * features, labels, weight, bias)
        assert float(value) == pytest.approx(expected, rel=1e-12)
        assert float(value) == pytest.approx(flatness.relative_flatness(scale * features, labels, weight, bias),
                                             rel=1e-6, abs=1e-300)


def test_the_measures_gradients_equal_finite_differences():
    g = torch.Generator().manual_seed(3)
    features = torch.randn(9, 4, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2])
    weight = torch.randn(4, 4, generator=g, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(4, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda f: regularisers.batch_ncc(f, labels, 4), (features,))
    assert torch.autograd.gradcheck(lambda f: regularisers.batch_ncc(f, labels, 4, averaged=True), (features,))
    kappa = lambda f, w, b: regularisers.batch_relative_flatness(f, f @ w.T + b, w)  # noqa: E731
    assert torch.autograd.gradcheck(kappa, (features, weight, bias))


class RegularisedLoss(torch.nn.Module):
    """The regularised loss of step 0 as a module, so that ``functional_call`` can evaluate it at any parameters."""

    def __init__(self, config: gu.Config, model: torch.nn.Module):
        super().__init__()
        self.config, self.model = config, model

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return regularisers.regularised_loss(self.config, lambda logits, labels: objective(self.config, logits, labels),
                                             self.model, x, y, step=0)


@pytest.mark.parametrize("changes", [{"ncc_weight": 0.3}, {"flatness_weight": 0.3}], ids=["ncc", "flatness"])
def test_the_regularised_loss_of_a_tiny_model_has_the_gradient_of_finite_differences(changes):
    config = TOY.replace(widths=(5,), **changes)
    loss = RegularisedLoss(config, gu.models.build(config, (4,), 3).double())
    names = [name for name, _ in loss.named_parameters()]
    g = torch.Generator().manual_seed(4)
    x, y = torch.randn(9, 4, generator=g, dtype=torch.float64), torch.tensor([0, 1, 2, 0, 1, 2, 0, 0, 1])
    parameters = tuple(p.detach().clone().requires_grad_(True) for p in loss.parameters())
    assert torch.autograd.gradcheck(lambda *ps: functional_call(loss, dict(zip(names, ps)), (x, y)), parameters)


# ---------------------------------------------------------- the regularised loss
@torch.no_grad()
def test_the_loss_is_the_objective_minus_lambda_times_the_measure():
    model = gu.models.build(NANDA, (3,), 23, 24)
    data = gu.data.load(NANDA)
    x, y = data.x_train[:50], data.y_train[:50]
    features = model.features(x)
    logits = model.head(features)
    plain = objective(NANDA, logits, y)
    for changes, measure in (({"ncc_weight": 1e-3}, collapse.ncc_mean(features, y)),  # the authors' averaged form
                             ({"flatness_weight": 1e-4},
                              flatness.relative_flatness_closed_form(features, y, model.head.weight))):
        config = NANDA.replace(**changes)
        value = gu.steps.training_loss(config, model, x, y, step=0)
        assert value.dtype == torch.float64  # the loss's precision (the preset's loss_dtype)
        weight = config.ncc_weight or config.flatness_weight
        assert float(value) == pytest.approx(float(plain) - weight * measure, rel=1e-6)


def test_lambda_zero_trains_bit_for_bit_the_unregularised_run():
    for name in ("ncc_weight", "flatness_weight"):
        zero = NANDA.replace(**{name: 0.0})
        assert zero == NANDA and zero.key() == NANDA.key() and not regularisers.active(zero)
        assert_same_run(gu.train.train(zero, progress=False), gu.train.train(NANDA, progress=False))


def test_the_features_and_head_path_is_the_forward_bit_for_bit():
    """Every step of a regularised run reads head(features(x)): the same logits as the plain step's model(x)."""
    for config in (NANDA, TOY.replace(widths=(8, 8))):
        data = gu.data.load(config)
        model = gu.models.build(config, data.input_shape, data.num_classes, data.vocab_size)
        assert torch.equal(model.head(model.features(data.x_train[:40])), model(data.x_train[:40]))


def ncc_and_kappa(context) -> dict:
    model, x, y = context.model, context.data.x_train, context.data.y_train
    with torch.no_grad():
        features = model.features(x).double()
        return {"ncc_toy": collapse.ncc(features, y),
                "kappa_toy": flatness.relative_flatness_closed_form(features, y, model.head.weight, model.head.bias)}


@pytest.mark.parametrize("name, weight, series", [
    ("ncc_weight", 0.4, "ncc_toy"), ("flatness_weight", 0.1, "kappa_toy")], ids=["ncc", "flatness"])
def test_minus_lambda_times_the_measure_raises_it(name, weight, series):
    """On the toy clusters (AdamW, 30 full-batch steps) the plain run collapses its features (NCC falls); −λ·NCC
    and −λ·κ make the measure rise at every evaluation, above the plain run's, and end far above it."""
    data = toy_dataset()
    plain = gu.train.train(TOY, data, callbacks=[ncc_and_kappa], progress=False).history
    pushed = gu.train.train(TOY.replace(**{name: weight}), data, callbacks=[ncc_and_kappa],
                            progress=False).history[series]
    assert plain["ncc_toy"][-1] < 0.8 * plain["ncc_toy"][0]
    plain = plain[series]
    assert plain[0] == pushed[0]  # the same initialisation
    assert all(later > earlier for earlier, later in zip(pushed, pushed[1:]))
    assert all(p > q for p, q in zip(pushed[1:], plain[1:])) and pushed[-1] > 2 * plain[-1]


def test_the_flatness_regulariser_is_unplugged_at_exactly_its_step(monkeypatch):
    unplug = 10
    config = NANDA.replace(flatness_weight=0.05, unplug_step=unplug)
    calls = []
    regularised_loss, penalty = regularisers.regularised_loss, regularisers.penalty

    def spy_loss(config_, loss, model, x, y, step):
        calls.append([step, False])
        value = regularised_loss(config_, loss, model, x, y, step)
        if step >= unplug:  # unplugged: exactly the plain step's loss
            assert torch.equal(value, objective(config_, model(x), y))
        return value

    def spy_penalty(*arguments):
        calls[-1][1] = True
        return penalty(*arguments)

    monkeypatch.setattr(regularisers, "regularised_loss", spy_loss)
    monkeypatch.setattr(regularisers, "penalty", spy_penalty)
    unplugged = gu.train.train(config, progress=False)
    assert calls == [[step, step < unplug] for step in range(config.num_steps)]
    monkeypatch.undo()
    always = gu.train.train(config.replace(unplug_step=None), progress=False)
    before = [i for i, step in enumerate(always.steps) if step <= unplug]  # evaluations before the switch
    for series in ("train_loss", "test_acc", "weight_norm"):
        assert [unplugged.history[series][i] for i in before] == [always.history[series][i] for i in before]
    for series in ("train_loss", "weight_norm"):  # the first evaluation after the switch
        assert unplugged.history[series][before[-1] + 1] != always.history[series][before[-1] + 1]
    assert regularisers.applies(config, unplug - 1) and not regularisers.applies(config, unplug)
    assert regularisers.baseline(config) == NANDA and regularisers.baseline(NANDA.replace(ncc_weight=1e-3)) == NANDA


@pytest.mark.parametrize("changes, interrupt_at", [
    ({"flatness_weight": 0.05, "unplug_step": 14}, 8), ({"ncc_weight": 1e-3, "batch_size": 64}, 12),
], ids=["flatness-across-the-unplug", "ncc-minibatch"])
def test_a_killed_and_resumed_run_gives_the_bit_identical_history(tmp_path, changes, interrupt_at):
    config = NANDA.replace(**changes)
    reference = gu.train.train(config, progress=False)
    checkpoint = tmp_path / "run.pt"
    interrupt = conftest.Interrupt(interrupt_at)
    with pytest.raises(KeyboardInterrupt):
        gu.train.train(config, callbacks=[interrupt], progress=False, checkpoint_path=checkpoint,
                       checkpoint_every_s=0)
    assert interrupt.fired and torch.load(checkpoint, weights_only=True)["step"] < interrupt_at
    assert_same_run(gu.train.train(config, progress=False, checkpoint_path=checkpoint, checkpoint_every_s=0),
                    reference)


@pytest.mark.slow
def test_a_regularised_run_killed_in_another_process_resumes_bit_identically(tmp_path):
    """SIGINT after the first checkpoint (test_kill_resume's pattern), the flatness regulariser unplugged later."""
    config = test_kill_resume.configs()[0].replace(flatness_weight=1e-3, unplug_step=100)
    checkpoint = tmp_path / "run.pt"
    state = test_kill_resume.interrupt_after_first_checkpoint("train", [config], checkpoint)
    assert state["step"] < config.unplug_step
    resumed = gu.train.train(config, progress=False, checkpoint_path=checkpoint, checkpoint_every_s=3600,
                             checkpoint_every_steps=test_kill_resume.EVERY_STEPS)
    assert_same_run(resumed, gu.train.train(config, progress=False))


def test_the_sweep_trains_regularised_runs_one_by_one_with_the_same_numbers():
    configs = [NANDA.replace(ncc_weight=1e-3, seed=s) for s in (0, 1)]
    swept = gu.sweep.train_sweep(configs, progress=False)
    assert swept[0].env["sweep_strategy"] == "loop"
    for config, result in zip(configs, swept):
        alone = gu.train.train(config, progress=False)
        assert {k: v for k, v in alone.history.items() if k != "wall_time"} == \
               {k: v for k, v in result.history.items() if k != "wall_time"}
    with pytest.raises(ValueError, match="strategy='vmap' is not allowed.*ncc_weight"):
        gu.sweep.train_sweep(configs, progress=False, strategy="vmap")
    assert gu.sweep.choose_strategy(configs, gu.data.load(NANDA), torch.device("cpu"))["strategy"] == "loop"


def test_regularised_runs_are_never_compiled(monkeypatch):
    monkeypatch.setenv(gu.steps.COMPILE_ENV, "1")
    for changes in ({"ncc_weight": 1e-3}, {"flatness_weight": 1e-4, "unplug_step": 5}):
        assert not gu.steps.compile_wanted(NANDA.replace(**changes), 1000, torch.device("cpu"))


# ---------------------------------------------------------------- configuration
def test_the_fields_are_later_fields_named_in_the_label_and_the_glossary():
    base = gu.Config()
    assert {"ncc_weight": 0.0, "flatness_weight": 0.0, "unplug_step": None}.items() <= gu.config.LATER_FIELDS.items()
    assert base.replace(ncc_weight=0.0, flatness_weight=0.0, unplug_step=None).key() == base.key()
    ncc, flat = base.replace(ncc_weight=1e-3), base.replace(flatness_weight=1e-4, unplug_step=5000)
    assert len({base.key(), ncc.key(), flat.key(), flat.replace(unplug_step=None).key()}) == 4
    assert ncc.label() == "add113-transformer-wd1-ncc0.001-s0"
    assert flat.label() == "add113-transformer-wd1-flat0.0001_unplug5000-s0"
    assert flat.replace(unplug_step=None).label() == "add113-transformer-wd1-flat0.0001-s0"
    for config in (ncc, flat):
        assert gu.Config.from_dict(config.to_dict()) == config
    for name in ("ncc_weight", "flatness_weight", "unplug_step"):
        assert name in gu.glossary.GLOSSARY
    assert type(base.replace(ncc_weight=1).ncc_weight) is float  # 1 and 1.0: one store key


def test_every_model_of_the_regularisers_has_a_penultimate_map_and_a_linear_head():
    cases = {"transformer": (dict(task="add", p=7, frac_train=0.5, d_model=16, num_heads=2, d_mlp=16), (3,)),
             "mlp": (dict(task="mnist", widths=(8,), num_train=100), (1, 28, 28)),
             "cnn": (dict(task="mnist", num_train=100), (1, 28, 28)),
             "vit": (dict(task="mnist", d_model=16, num_heads=2, d_mlp=16, num_train=100), (1, 28, 28)),
             "resnet18": (dict(task="cifar10", num_train=100), (3, 8, 8)),
             "resnet10": (dict(task="cifar10", num_train=100), (3, 8, 8)),
             "text_transformer": (dict(task="trec6", d_model=16, num_heads=2, d_mlp=16, num_train=100), (16,)),
             "embed-mlp": (dict(task="add", p=7, frac_train=0.5, model="mlp", d_model=4, widths=(8,)), (3,))}
    assert set(cases) - {"embed-mlp"} == set(config_checks.PENULTIMATE_MODELS) == set(gu.config.MODELS)
    for name, (fields, shape) in cases.items():
        config = gu.Config(**{"model": name, **fields, "ncc_weight": 1e-3})
        tokens = not config.task.startswith(("mnist", "cifar"))
        model = gu.models.build(config, shape, 6, 9 if tokens else None).eval()
        x = torch.randint(0, 9, (4, *shape)) if tokens else torch.randn(4, *shape)
        features = model.features(x)
        assert isinstance(model.head, torch.nn.Linear) and features.shape == (4, model.head.in_features), name
        assert torch.equal(model.head(features), model(x)), name


def assert_clear_error(error: ValueError, field: str, *fragments: str) -> None:
    message = str(error)
    assert re.match(rf"Config\.{field} = .* is not allowed; expected ", message), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize("changes, field, fragments", [
    ({"ncc_weight": -1e-3}, "ncc_weight", ("a finite number >= 0", "λ = 0 switches it off")),
    ({"ncc_weight": math.nan}, "ncc_weight", ("(finite)",)),
    ({"flatness_weight": -1.0}, "flatness_weight", ("a finite number >= 0",)),
    ({"flatness_weight": math.inf}, "flatness_weight", ("(finite)",)),
    ({"flatness_weight": "1e-4"}, "flatness_weight", ("finite",)),
    ({"unplug_step": 100}, "unplug_step", ("None when flatness_weight = 0", "Set flatness_weight > 0")),
    ({"flatness_weight": 1e-4, "unplug_step": 0}, "unplug_step", ("an integer >= 1", "steps 0..k−1")),
    ({"flatness_weight": 1e-4, "unplug_step": 10.0}, "unplug_step", ("Write whole numbers",)),
    ({"flatness_weight": 1e-4, "unplug_step": 24}, "unplug_step", ("below num_steps = 24", "unplug_step=None")),
    ({"ncc_weight": 1e-3, "flatness_weight": 1e-4}, "flatness_weight", ("0 when ncc_weight > 0", "one at a time")),
    ({"ncc_weight": 1e-3, "noise_scale": 0.5}, "ncc_weight", ("0 when noise_scale is set", "without noise_scale")),
    ({"flatness_weight": 1e-4, "noise_floor": 0.1}, "flatness_weight", ("0 when noise_floor is set",)),
    ({"ncc_weight": 1e-3, "abelian_weight": 100.0}, "ncc_weight", ("0 when abelian_weight is set",)),
    ({"flatness_weight": 1e-4, "mixing_alpha": 0.1}, "flatness_weight", ("0 when mixing_alpha is set",
                                                                         "Part III's intervention")),
    ({"ncc_weight": 1e-3, "mixing_alpha": 0.1, "norm_matched": True, "metrics": ("norm_trace",)}, "ncc_weight",
     ("mixing_alpha, norm_matched",)),
    ({"flatness_weight": 1e-4, "loss": "mse"}, "flatness_weight", ("0 unless loss='cross_entropy'", "Hessian")),
    ({"ncc_weight": 1e-3, "batch_size": 1}, "batch_size", ("at least 2 when ncc_weight > 0", "one class")),
])
def test_invalid_settings_are_refused_naming_the_field_and_what_to_do(changes, field, fragments):
    with pytest.raises(ValueError) as info:
        NANDA.replace(**changes)
    assert_clear_error(info.value, field, *fragments)


def test_a_model_without_a_penultimate_map_is_refused(monkeypatch):
    monkeypatch.setattr(config_checks, "PENULTIMATE_MODELS", ("mlp",))
    with pytest.raises(ValueError) as info:
        NANDA.replace(ncc_weight=1e-3)
    assert_clear_error(info.value, "ncc_weight", "model='transformer', which has no penultimate feature map",
                       "model.features, model.head")
    TOY.replace(flatness_weight=1e-4)  # a model that has one


def test_the_config_fields_stay_in_step_with_the_checks():
    fields = {f.name: f.default for f in dataclasses.fields(gu.Config)}
    assert fields["ncc_weight"] == fields["flatness_weight"] == 0.0 and fields["unplug_step"] is None
    assert set(config_checks.REGULARISER_FIELDS) <= set(config_checks.FLOAT_FIELDS)
    assert "unplug_step" in config_checks.OPTIONAL_INT_FIELDS
    assert set(config_checks.OTHER_INTERVENTIONS) <= set(fields)
