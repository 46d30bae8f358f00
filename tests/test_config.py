"""Config: validation, the content hash used as the store key, evaluation schedules."""

from __future__ import annotations

import dataclasses
import json
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import grokutils as gu
from grokutils.config import Config, eval_steps


# ----------------------------------------------------------------- validation
INVALID = [
    # (changes, field named in the message, value shown in the message)
    (dict(task="mod"), "task", "'mod'"),
    (dict(task="add", p=1), "p", "1"),
    (dict(task="sub", p=0), "p", "0"),
    (dict(task="add", p=-5), "p", "-5"),
    (dict(task="div", p=10), "p", "10"),
    (dict(task="div", p=1), "p", "1"),
    (dict(frac_train=0.0), "frac_train", "0.0"),
    (dict(frac_train=0), "frac_train", "0"),
    (dict(frac_train=1.0), "frac_train", "1.0"),
    (dict(frac_train=1.5), "frac_train", "1.5"),
    (dict(frac_train=-0.1), "frac_train", "-0.1"),
    (dict(num_steps=-1), "num_steps", "-1"),
    (dict(model="resnet"), "model", "'resnet'"),
    (dict(loss="hinge"), "loss", "'hinge'"),
    (dict(loss_reduction="max"), "loss_reduction", "'max'"),
    (dict(optimizer="adam"), "optimizer", "'adam'"),
    (dict(device="tpu"), "device", "'tpu'"),
    (dict(eval_schedule="every"), "eval_schedule", "'every'"),
    (dict(eval_schedule="every:0"), "eval_schedule", "'every:0'"),
    (dict(eval_schedule="every:-3"), "eval_schedule", "'every:-3'"),
    (dict(eval_schedule="log"), "eval_schedule", "'log'"),
    (dict(eval_schedule="paper "), "eval_schedule", "'paper '"),
    (dict(metrics=("no_such_metric",)), "metrics", "no_such_metric"),
    (dict(metrics=["representation_norm", "bogus"]), "metrics", "bogus"),
    (dict(task="mnist", model="transformer"), "model", "'transformer'"),
    (dict(task="cifar10", model="transformer"), "model", "'transformer'"),
    (dict(task="add", model="cnn"), "model", "'cnn'"),
    (dict(d_model=128, num_heads=3), "num_heads", "3"),
    (dict(d_model=30, num_heads=4), "num_heads", "4"),
    (dict(num_layers=3), "num_layers", "3"),
    (dict(lr=0.0), "lr", "0.0"),
    (dict(lr=-1e-3), "lr", "-0.001"),
    (dict(weight_decay=-1.0), "weight_decay", "-1.0"),
    (dict(init_scale=0.0), "init_scale", "0.0"),
    (dict(widths=()), "widths", "()"),
    (dict(widths=(10, 0)), "widths", "(10, 0)"),
    (dict(betas=(0.9, 1.0)), "betas", "(0.9, 1.0)"),
    (dict(betas=(0.9,)), "betas", "(0.9,)"),
    (dict(warmup_steps=-1), "warmup_steps", "-1"),
    (dict(batch_size=0), "batch_size", "0"),
    (dict(grok_threshold=0.0), "grok_threshold", "0.0"),
    (dict(grok_threshold=1.5), "grok_threshold", "1.5"),
    (dict(num_train=0), "num_train", "0"),
]


@pytest.mark.parametrize("changes, name, shown", INVALID,
                         ids=[f"{name}={changes[name] if name in changes else shown}" for changes, name, shown
                              in INVALID])
def test_invalid_value_raises_naming_field_and_value(changes, name, shown):
    with pytest.raises(ValueError) as info:
        Config(**changes)
    message = str(info.value)
    assert f"Config.{name}" in message
    assert shown in message


@pytest.mark.parametrize("changes, name, shown", INVALID[:8])
def test_replace_validates_too(changes, name, shown):
    with pytest.raises(ValueError, match=re.escape(f"Config.{name}")):
        Config().replace(**changes)


def test_div_message_suggests_a_prime():
    with pytest.raises(ValueError, match="prime"):
        Config(task="div", p=12)


@pytest.mark.parametrize("changes", [
    dict(task="div", p=7), dict(task="div", p=113), dict(task="s5"), dict(task="s5", p=97),
    dict(task="mnist", model="mlp"), dict(task="mnist", model="cnn"), dict(task="mul", model="mlp"),
    dict(num_steps=0), dict(frac_train=0.999), dict(eval_schedule="every:7"), dict(grok_threshold=1.0),
    dict(metrics=("representation_norm",)), dict(num_layers=2, layer_norm=True), dict(device="cpu"),
])
def test_valid_configs_construct(changes):
    config = Config(**changes)
    for name, value in changes.items():
        assert getattr(config, name) == (tuple(value) if isinstance(value, list) else value)


def test_config_is_frozen_and_hashable():
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.lr = 1.0  # type: ignore[misc]
    assert {config: 1}[Config()] == 1


# ------------------------------------------------------------------------ key
def test_key_is_stable_hex():
    a, b = Config(), Config()
    assert a.key() == b.key() == a.key()
    assert re.fullmatch(r"[0-9a-f]{16}", a.key())


def test_key_matches_across_processes_known_value():
    # The key is the sha256 of the sorted JSON of all fields but device, plus the store format:
    # recompute it independently so that an accidental change of the recipe is noticed.
    import hashlib

    config = gu.presets.nanda("smoke")
    values = dataclasses.asdict(config)
    values.pop("device")
    later = {"activation": "relu", "mixing_alpha": 0.0, "norm_matched": False, "stop_after_grok": None,
             "loss_dtype": "float32", "init": "book", "noise_scale": 0.0, "noise_floor": 0.0, "abelian_weight": 0.0,
             "ncc_weight": 0.0, "flatness_weight": 0.0, "unplug_step": None}
    for name, default in later.items():
        if values[name] == default:
            values.pop(name)  # a later field at its default does not enter the key
    values["store_format"] = gu.config.STORE_FORMAT
    text = json.dumps(values, sort_keys=True, default=list)
    assert config.key() == hashlib.sha256(text.encode()).hexdigest()[:16]


KEY_CHANGES = [
    ("task", "mul"), ("p", 97), ("frac_train", 0.5), ("num_train", 2000), ("data_seed", 1),
    ("model", "mlp"), ("d_model", 64), ("num_heads", 8), ("d_mlp", 256), ("num_layers", 2),
    ("layer_norm", True), ("widths", (100,)), ("init_scale", 2.0), ("loss", "mse"),
    ("loss_reduction", "sum"), ("optimizer", "sgd"), ("lr", 3e-3), ("weight_decay", 0.1),
    ("betas", (0.9, 0.999)), ("momentum", 0.9), ("warmup_steps", 0), ("batch_size", 64),
    ("num_steps", 100), ("seed", 1), ("eval_schedule", "every:5"), ("grok_threshold", 0.9),
    ("metrics", ("representation_norm",)), ("activation", "tanh"), ("mixing_alpha", 0.1),
    ("norm_matched", True), ("stop_after_grok", 2000), ("loss_dtype", "float64"), ("init", "pytorch"),
    ("noise_scale", 0.5), ("noise_floor", 0.05), ("abelian_weight", 100.0), ("ncc_weight", 1e-3),
    ("flatness_weight", 1e-4), ("unplug_step", 50),
]
#: Fields whose non-default value needs another base configuration to be valid.
KEY_CHANGE_BASES = {"activation": Config(task="mnist", model="mlp"), "num_train": Config(task="mnist", model="mlp"),
                    "widths": Config(task="mnist", model="mlp"), "momentum": Config(optimizer="sgd"),
                    "norm_matched": Config(mixing_alpha=0.1, metrics=("norm_trace",)),
                    "unplug_step": Config(flatness_weight=1e-4)}


def test_key_changes_cover_every_field_but_device():
    covered = {name for name, _ in KEY_CHANGES}
    assert covered == {f.name for f in dataclasses.fields(Config)} - {"device"}


@pytest.mark.parametrize("name, value", KEY_CHANGES, ids=[n for n, _ in KEY_CHANGES])
def test_key_changes_when_a_field_changes(name, value):
    base = KEY_CHANGE_BASES.get(name, Config())
    changed = base.replace(**{name: value})
    assert changed != base
    assert changed.key() != base.key()


def test_key_ignores_device():
    base = Config()
    for device in ("auto", "cpu", "cuda", "mps"):
        assert base.replace(device=device).key() == base.key()


def test_list_and_tuple_inputs_hash_equally():
    as_tuples = Config(task="mnist", model="mlp", widths=(200, 100), betas=(0.9, 0.99),
                       metrics=("representation_norm",))
    as_lists = Config(task="mnist", model="mlp", widths=[200, 100], betas=[0.9, 0.99], metrics=["representation_norm"])
    assert as_lists == as_tuples
    assert hash(as_lists) == hash(as_tuples)
    assert as_lists.key() == as_tuples.key()
    assert isinstance(as_lists.widths, tuple) and isinstance(as_lists.betas, tuple)
    assert isinstance(as_lists.metrics, tuple)


@pytest.mark.parametrize("name, as_int, as_float", [
    ("weight_decay", 1, 1.0), ("lr", 1, 1.0), ("init_scale", 8, 8.0), ("betas", (0, 0), (0.0, 0.0)),
])
def test_equal_configs_have_equal_keys_int_vs_float(name, as_int, as_float):
    """Configs that compare equal must share a store key (``weight_decay=1`` vs ``1.0``)."""
    a, b = Config(**{name: as_int}), Config(**{name: as_float})
    assert a == b
    assert a.key() == b.key()


# ------------------------------------------------------------- dict round trip
def test_from_dict_rejects_unknown_fields():
    values = Config().to_dict() | {"learning_rate": 0.1}
    with pytest.raises(ValueError, match="learning_rate"):
        Config.from_dict(values)


def test_from_dict_validates():
    with pytest.raises(ValueError, match=re.escape("Config.lr")):
        Config.from_dict({"lr": -1.0})


@pytest.mark.parametrize("config", [
    Config(), gu.presets.nanda("smoke"), gu.presets.omnigrok_mnist("quick"),
    Config(task="s5", model="mlp", widths=(64, 32), batch_size=128, metrics=("representation_norm",)),
])
def test_to_dict_from_dict_round_trip(config):
    values = config.to_dict()
    assert Config.from_dict(values) == config
    # through JSON as the store writes it: tuples become lists and must come back as tuples
    restored = Config.from_dict(json.loads(json.dumps(values)))
    assert restored == config
    assert restored.key() == config.key()


def test_label():
    assert Config(task="add", p=113, weight_decay=1.0, seed=2).label() == "add113-transformer-wd1-s2"
    assert Config(task="mnist", model="mlp", weight_decay=0.01).label() == "mnist-mlp-wd0.01-s0"
    assert Config(task="s5").label().startswith("s5-")


# --------------------------------------------------------------- eval steps
def test_paper_schedule_300():
    steps = eval_steps("paper", 300)
    expected = list(range(0, 30)) + list(range(30, 150, 10)) + list(range(150, 301, 2))
    assert steps == expected
    assert steps[0] == 0 and steps[-1] == 300
    assert steps == sorted(set(steps))


@pytest.mark.parametrize("num_steps", [0, 1, 5, 29, 30, 31, 149, 150, 151, 299, 301, 1000, 12345])
def test_paper_schedule_properties(num_steps):
    steps = eval_steps("paper", num_steps)
    assert steps[0] == 0 and steps[-1] == num_steps
    assert steps == sorted(set(steps))
    assert all(0 <= s <= num_steps for s in steps)
    assert set(range(min(30, num_steps + 1))) <= set(steps)
    assert set(range(30, min(150, num_steps + 1), 10)) <= set(steps)
    assert not {s for s in steps if 30 <= s < 150} - set(range(30, 150, 10)) - {num_steps}
    stride = max(num_steps // 150, 1)
    assert set(range(150, num_steps + 1, stride)) <= set(steps)


@pytest.mark.parametrize("num_steps, every, expected", [
    (100, 10, list(range(0, 101, 10))),
    (105, 10, list(range(0, 101, 10)) + [105]),
    (3, 1, [0, 1, 2, 3]),
    (0, 5, [0]),
    (7, 50, [0, 7]),
])
def test_every_schedule(num_steps, every, expected):
    assert eval_steps(f"every:{every}", num_steps) == expected


@settings(max_examples=60, deadline=None)
@given(num_steps=st.integers(0, 5000), every=st.integers(1, 700))
def test_every_schedule_property(num_steps, every):
    steps = eval_steps(f"every:{every}", num_steps)
    assert steps == sorted(set(range(0, num_steps + 1, every)) | {num_steps})


@settings(max_examples=60, deadline=None)
@given(num_steps=st.integers(0, 100_000))
def test_paper_schedule_property(num_steps):
    steps = eval_steps("paper", num_steps)
    assert steps[0] == 0 and steps[-1] == num_steps and steps == sorted(set(steps))
    gaps = [b - a for a, b in zip(steps, steps[1:])]
    assert all(g >= 1 for g in gaps)
    assert max(gaps, default=1) <= max(10, num_steps // 150)


def test_later_fields_enter_the_key_only_away_from_their_default():
    from grokutils.config import LATER_FIELDS

    base = Config(task="mnist", model="mlp")
    assert LATER_FIELDS == {"activation": "relu", "mixing_alpha": 0.0, "norm_matched": False,
                            "stop_after_grok": None, "loss_dtype": "float32", "init": "book", "noise_scale": 0.0,
                            "noise_floor": 0.0, "abelian_weight": 0.0, "ncc_weight": 0.0, "flatness_weight": 0.0,
                            "unplug_step": None}
    assert base.replace(activation="relu").key() == base.key()
    assert base.replace(activation="tanh").key() != base.key()
    assert base.replace(activation="tanh").key() != base.replace(activation="softplus").key()


def test_loss_dtype_enters_key_and_label_only_when_set():
    base = Config()
    assert base.loss_dtype == "float32" and base.replace(loss_dtype="float32").key() == base.key()
    double = base.replace(loss_dtype="float64")
    assert double.key() != base.key() and "lossf64" in double.label() and "lossf64" not in base.label()
    assert Config.from_dict(double.to_dict()) == double
    with pytest.raises(ValueError, match=r"Config\.loss_dtype = 'float16' is not allowed; expected one of"):
        Config(loss_dtype="float16")
    with pytest.raises(ValueError, match=r"Config\.loss_dtype = 64 is not allowed"):
        Config(loss_dtype=64)


def test_activation_is_validated():
    with pytest.raises(ValueError, match="activation"):
        Config(task="mnist", model="mlp", activation="gelu")
    with pytest.raises(ValueError, match="activation"):
        Config(activation="tanh")  # the transformer's activation is fixed


def test_smooth_mlp_uses_its_activation():
    import torch

    from grokutils.models import build

    model = build(Config(task="mnist", model="mlp", widths=(4,), activation="softplus"), (1, 28, 28), 10)
    assert isinstance(model.body[2], torch.nn.Softplus)


def test_metric_names_are_the_registry():
    assert len(set(gu.config.METRIC_NAMES)) == len(gu.config.METRIC_NAMES)
    assert set(gu.config.METRIC_NAMES) == set(gu.metrics.REGISTRY)
    assert not set(gu.config.STEP_METRICS) & set(gu.config.METRIC_NAMES)
    Config(metrics=gu.config.METRIC_NAMES + gu.config.STEP_METRICS)


# ------------------------------------------------------ types, ignored fields, sizes
TYPE_ERRORS = [
    # (changes, field named, value shown, what is allowed)
    (dict(p=97.0), "p", "97.0", "an integer"),
    (dict(p="97"), "p", "'97'", "an integer"),
    (dict(num_steps=1e4), "num_steps", "10000.0", "10_000, not 1e4"),
    (dict(num_steps=True), "num_steps", "True", "an integer from 0 to"),
    (dict(seed=-1), "seed", "-1", "32-bit seed"),
    (dict(seed=2**32), "seed", str(2**32), "32-bit seed"),
    (dict(data_seed=-3), "data_seed", "-3", "32-bit seed"),
    (dict(d_model=0), "d_model", "0", "positive integer"),
    (dict(num_heads=0), "num_heads", "0", "positive integer"),
    (dict(d_mlp=-1), "d_mlp", "-1", "positive integer"),
    (dict(batch_size=2.5), "batch_size", "2.5", "None for full batch"),
    (dict(lr=float("nan")), "lr", "nan", "positive learning rate"),
    (dict(lr=float("inf")), "lr", "inf", "finite"),
    (dict(weight_decay=float("nan")), "weight_decay", "nan", "non-negative"),
    (dict(init_scale=float("inf")), "init_scale", "inf", "positive factor"),
    (dict(lr="1e-3"), "lr", "'1e-3'", "positive learning rate"),
    (dict(frac_train=None), "frac_train", "None", "between 0 and 1"),
    (dict(layer_norm=1), "layer_norm", "1", "True or False"),
    (dict(task=3), "task", "3", "one of"),
    (dict(device=None), "device", "None", "one of"),
    (dict(eval_schedule=100), "eval_schedule", "100", "'every:N'"),
    (dict(widths=5), "widths", "5", "tuple of positive integers"),
    (dict(task="mnist", model="mlp", widths=(200.5,)), "widths", "(200.5,)", "tuple of positive integers"),
    (dict(task="mnist", model="mlp", widths={100, 200}), "widths", "{", "tuple of positive integers"),
    (dict(betas=0.9), "betas", "0.9", "two numbers"),
    (dict(betas=("a", 0.9)), "betas", "'a'", "two numbers"),
    (dict(betas=(0.9, float("nan"))), "betas", "nan", "two numbers"),
    (dict(metrics="collapse"), "metrics", "'collapse'", "tuple of metric names"),
    (dict(metrics=(1,)), "metrics", "(1,)", "strings"),
    (dict(metrics=("collapse", "collapse")), "metrics", "'collapse'", "at most once"),
    (dict(optimizer="sgd", momentum=1.0), "momentum", "1.0", "[0, 1)"),
    (dict(optimizer="sgd", momentum=-0.5), "momentum", "-0.5", "[0, 1)"),
    (dict(task="s5", p=1), "p", "1", "from 2 to 2,000"),
    (dict(task="div", p=10**18 + 9), "p", str(10**18 + 9), "from 2 to 2,000"),
    (dict(lr=10**400), "lr", "1000", "finite"),
    (dict(num_steps=10**12), "num_steps", str(10**12), "from 0 to 100,000,000"),
    (dict(num_steps=10**6, eval_schedule="every:1"), "eval_schedule", "'every:1'", "at most 100,000 evaluations"),
]


@pytest.mark.parametrize("changes, name, shown, allowed", TYPE_ERRORS, ids=[str(c) for c, *_ in TYPE_ERRORS])
def test_wrong_types_and_ranges_raise_naming_field_value_and_what_is_allowed(changes, name, shown, allowed):
    with pytest.raises(ValueError) as info:
        Config(**changes)
    message = str(info.value)
    assert f"Config.{name} = " in message and shown in message and allowed in message


def test_numpy_numbers_are_normalised_to_the_same_key():
    import numpy as np

    plain = Config(task="mnist", model="mlp", p=113, num_train=500, widths=(64,), lr=1e-3, batch_size=100)
    numpy = Config(task="mnist", model="mlp", p=np.int64(113), num_train=np.int32(500), widths=(np.int64(64),),
                   lr=np.float64(1e-3), batch_size=np.int64(100))
    assert numpy == plain and numpy.key() == plain.key()
    assert type(numpy.num_train) is int and type(numpy.widths[0]) is int and type(numpy.batch_size) is int


IGNORED = [
    # (base changes, ignored field, non-default value, words of the reason)
    (dict(task="mnist", model="mlp"), "p", 97, "task='mnist'"),
    (dict(task="mnist", model="mlp"), "frac_train", 0.5, "num_train"),
    (dict(task="mnist", model="mlp"), "d_model", 64, "embedding width"),
    (dict(task="mnist", model="mlp"), "num_heads", 2, "no attention"),
    (dict(task="mnist", model="mlp"), "layer_norm", True, "no attention"),
    (dict(task="mnist", model="cnn"), "widths", (100,), "widths"),
    (dict(task="mnist", model="cnn"), "d_mlp", 256, "no attention"),
    (dict(task="mnist", model="vit"), "widths", (100,), "widths"),
    (dict(task="cifar10", model="resnet18"), "init_scale", 8.0, "standard initialisation"),
    (dict(task="cifar10", model="mlp"), "data_seed", 1, "first num_train images"),
    (dict(task="sst2", model="text_transformer"), "frac_train", 0.5, "num_train"),
    (dict(), "num_train", 2000, "frac_train"),
    (dict(), "widths", (100,), "widths"),
    (dict(task="s5"), "p", 97 + 1, "no modulus"),
    (dict(model="mlp"), "num_layers", 2, "no attention"),
    (dict(model="mlp"), "activation", "tanh", "uses ReLU"),
    (dict(model="mlp"), "init", "pytorch", "one initialisation"),
    (dict(), "momentum", 0.9, "optimizer='adamw'"),
    (dict(optimizer="sgd"), "betas", (0.5, 0.5), "optimizer='sgd'"),
]


@pytest.mark.parametrize("base, name, value, reason", IGNORED, ids=[f"{b}-{n}" for b, n, *_ in IGNORED])
def test_a_field_the_run_ignores_must_keep_its_default(base, name, value, reason):
    config = Config(**base)
    assert name in config.ignored_fields()
    with pytest.raises(ValueError) as info:
        config.replace(**{name: value})
    message = str(info.value)
    assert f"Config.{name} = {value!r}" in message and "ignores" in message and reason in message
    assert f"its default {getattr(Config(), name)!r}" in message
    assert config.replace(**{name: getattr(Config(), name)}) == config  # the default is fine


def test_the_values_stored_results_hold_are_the_only_tolerated_ones():
    """Part III's S5 runs carry p = 97 and Part I's Theorem 4.3 runs (SGD) AdamW betas: their keys are
    stored, so exactly those values stay accepted, and only where they were stored."""
    assert Config(task="s5", p=97).p == 97
    assert Config(optimizer="sgd", betas=(0.9, 0.999)).betas == (0.9, 0.999)
    with pytest.raises(ValueError, match="Config.p = 97"):
        Config(task="mnist", model="mlp", p=97)
    with pytest.raises(ValueError, match=re.escape("Config.betas = (0.9, 0.99)")):
        Config(optimizer="sgd", betas=(0.9, 0.99))
    with pytest.raises(ValueError, match=re.escape("Config.p = 7")):
        Config(task="s5", p=7)


#: A value away from the default for every field that some run ignores.
OTHER_VALUES = {"p": 11, "frac_train": 0.7, "num_train": 300, "data_seed": 3, "d_model": 4, "num_heads": 1,
                "d_mlp": 4, "num_layers": 2, "layer_norm": True, "widths": (4,), "activation": "tanh",
                "init_scale": 2.0, "momentum": 0.5, "betas": (0.5, 0.5), "init": "pytorch"}


def unchecked(config: Config, **changes) -> Config:
    """``config`` with ``changes`` but without validation: to show that the changed fields are not read."""
    copy = object.__new__(Config)
    for f in dataclasses.fields(Config):
        object.__setattr__(copy, f.name, changes.get(f.name, getattr(config, f.name)))
    return copy


@pytest.mark.parametrize("config", [
    Config(task="add", p=7, frac_train=0.5, d_model=16, num_heads=2, d_mlp=16),
    Config(task="s5", frac_train=0.05, d_model=16, num_heads=2, d_mlp=16, optimizer="sgd"),
    Config(task="add", p=7, frac_train=0.5, model="mlp", d_model=8, widths=(8,)),
    Config(task="mnist", model="cnn", num_train=100), Config(task="mnist", model="mlp", widths=(8,), num_train=100),
    Config(task="mnist", model="vit", num_train=100, d_model=16, num_heads=2, d_mlp=16),
], ids=["transformer", "s5-sgd", "embed-mlp", "cnn", "mlp", "vit"])
def test_ignored_fields_change_neither_the_data_nor_the_model_nor_the_optimiser(config):
    """:meth:`Config.ignored_fields` is exactly what the loader, the model builder and the optimiser do not read."""
    import torch

    from grokutils import data, models
    from grokutils.train import make_optimizer

    dataset = data.load(config)
    reference = models.build(config, dataset.input_shape, dataset.num_classes, dataset.vocab_size)
    groups = make_optimizer(config, reference.parameters()).state_dict()["param_groups"]
    assert set(config.ignored_fields()) <= set(OTHER_VALUES)
    for name in config.ignored_fields():
        other = unchecked(config, **{name: OTHER_VALUES[name]})
        loaded = data.load(other)
        assert torch.equal(loaded.x_train, dataset.x_train) and torch.equal(loaded.y_test, dataset.y_test), name
        model = models.build(other, dataset.input_shape, dataset.num_classes, dataset.vocab_size)
        assert [p.shape for p in model.parameters()] == [p.shape for p in reference.parameters()], name
        assert all(torch.equal(a, b) for a, b in zip(model.parameters(), reference.parameters())), name
        assert make_optimizer(other, model.parameters()).state_dict()["param_groups"] == groups, name


SIZES = [
    (dict(task="mnist", model="mlp", num_train=5000), "num_train", "5000", "4,990"),
    (dict(task="mnist", model="mlp", num_train=1005), "num_train", "1005", "multiple of 10"),
    (dict(task="mnist", model="mlp", num_train=6000), "num_train", "6000", "500 images per class"),
    (dict(task="mnist_torchvision", model="mlp", num_train=60_001), "num_train", "60001", "60,000"),
    (dict(task="cifar10", model="cnn", num_train=50_001), "num_train", "50001", "50,000"),
    (dict(task="add", p=2, frac_train=0.1), "frac_train", "0.1", "non-empty"),
    (dict(task="add", p=7, frac_train=0.99), "frac_train", "0.99", "49 pairs"),
    (dict(batch_size=3831), "batch_size", "3831", "3,831 samples"),
    (dict(batch_size=10**6), "batch_size", "1000000", "None (full batch) or at most 3,830"),
    (dict(task="mnist", model="mlp", num_train=100, batch_size=100), "batch_size", "100", "at most 99"),
    (dict(task="s5", frac_train=0.5, batch_size=7200), "batch_size", "7200", "7,200 samples"),
    (dict(task="div", p=7, frac_train=0.5, batch_size=21), "batch_size", "21", "21 samples"),
    (dict(task="trec6", model="text_transformer", num_train=100, batch_size=100), "batch_size", "100", "99"),
]


@pytest.mark.parametrize("changes, name, shown, allowed", SIZES, ids=[str(c) for c, *_ in SIZES])
def test_sizes_the_data_cannot_provide_are_refused(changes, name, shown, allowed):
    with pytest.raises(ValueError) as info:
        Config(**changes)
    message = str(info.value)
    assert f"Config.{name} = {shown}" in message and allowed in message


def test_train_size_is_what_the_loaders_give():
    for config in (Config(task="add", p=23, frac_train=0.5), Config(task="div", p=7, frac_train=0.3),
                   Config(task="s5", frac_train=0.3), Config(task="mnist", model="mlp", num_train=200)):
        assert len(gu.data.load(config).y_train) == config.train_size()
    assert Config(task="mnist", model="mlp", num_train=4990).train_size() == 4990  # the largest offline subset
    Config(task="mnist", model="mlp", num_train=200, batch_size=199)  # one short of full batch is a minibatch


def test_zero_steps_is_a_valid_config_that_the_store_refuses():
    """num_steps = 0 evaluates the initial model (grokutils.train.train); the store refuses to keep it."""
    config = Config(num_steps=0)
    assert config.num_steps == 0
    with pytest.raises(ValueError, match="Config.num_steps = -1.*store refuses"):
        Config(num_steps=-1)


# ------------------------------------------------------------ property-based: every field
def _garbage():
    return st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.integers(10**300, 10**400),
                     st.floats(allow_nan=True),
                     st.text(max_size=6), st.lists(st.integers(-3, 300), max_size=3),
                     st.lists(st.floats(0, 300), min_size=1, max_size=2),
                     st.tuples(st.floats(-1, 2), st.floats(-1, 2)), st.sets(st.integers(0, 5), max_size=2))


FIELD_VALUES = {
    "task": st.sampled_from(gu.config.TASKS), "p": st.integers(-1, 130), "frac_train": st.floats(-0.2, 1.2),
    "num_train": st.integers(-1, 70_000), "data_seed": st.integers(-2, 2**33),
    "model": st.sampled_from(gu.config.MODELS), "d_model": st.integers(-1, 64), "num_heads": st.integers(-1, 8),
    "d_mlp": st.integers(-1, 64), "num_layers": st.integers(-1, 3), "layer_norm": st.booleans(),
    "widths": st.lists(st.integers(-1, 64) | st.floats(0.5, 64), max_size=3),
    "activation": st.sampled_from(gu.config.ACTIVATIONS), "init_scale": st.floats(-1, 10),
    "loss": st.sampled_from(gu.config.LOSSES), "loss_reduction": st.sampled_from(gu.config.REDUCTIONS),
    "loss_dtype": st.sampled_from(gu.config.LOSS_DTYPES + ("float16",)),
    "init": st.sampled_from(gu.config.INITS + ("xavier",)),
    "noise_scale": st.floats(-0.5, 2), "noise_floor": st.floats(-0.5, 2), "abelian_weight": st.floats(-1, 200),
    "ncc_weight": st.floats(-1e-3, 1e-2), "flatness_weight": st.floats(-1e-3, 1e-2),
    "unplug_step": st.none() | st.integers(-2, 200),
    "optimizer": st.sampled_from(gu.config.OPTIMIZERS), "lr": st.floats(-1, 2), "weight_decay": st.floats(-1, 2),
    "betas": st.tuples(st.floats(-0.5, 1.5), st.floats(-0.5, 1.5)), "momentum": st.floats(-1, 2),
    "warmup_steps": st.integers(-2, 100), "batch_size": st.none() | st.integers(-1, 6000),
    "num_steps": st.integers(-2, 100), "stop_after_grok": st.none() | st.integers(-2, 100),
    "seed": st.integers(-2, 2**33), "mixing_alpha": st.floats(-0.5, 1.5), "norm_matched": st.booleans(),
    "eval_schedule": st.sampled_from(["paper", "every:5", "every:0", "every:-1", "log"]),
    "grok_threshold": st.floats(-0.5, 1.5),
    "metrics": st.lists(st.sampled_from(gu.config.METRIC_NAMES + gu.config.STEP_METRICS + ("bogus",)), max_size=3),
    "device": st.sampled_from(gu.config.DEVICES + ("tpu",)),
}
BASES = [Config(), gu.presets.nanda("smoke"), gu.presets.omnigrok_mnist("smoke"),
         gu.presets.collapse_theory("smoke")[0], gu.presets.spectral_tasks("smoke")["s5"][0],
         gu.presets.spectral_mlp("smoke")[0],
         gu.presets.collapse_text("trec6", "smoke"), gu.presets.collapse_architectures("smoke")["ViT"],
         gu.presets.collapse_cifar_resnet("smoke"), gu.presets.spectral_intervention("smoke")["norm-matched"][0]]


def draw_value(data, base: Config, name: str):
    """A value for field ``name``: the base's own or the default (a third of the time), a value of the field's
    kind in and around its range (a third), or anything at all (a third)."""
    kind = data.draw(st.sampled_from(("kept", "ranged", "garbage")), label=f"{name} kind")
    if kind == "kept":
        return data.draw(st.sampled_from((getattr(base, name), getattr(Config(), name))), label=name)
    return data.draw(FIELD_VALUES[name] if kind == "ranged" else _garbage(), label=name)


def test_the_property_strategies_cover_every_field():
    assert set(FIELD_VALUES) == {f.name for f in dataclasses.fields(Config)}


def assert_well_defined(config: Config) -> None:
    """What a constructed Config guarantees: normalised types, a stable key that survives the store's JSON,
    no ignored field away from its default (but the stored exceptions), sizes the data can provide."""
    for name in gu.config.INT_FIELDS:
        assert type(getattr(config, name)) is int, name
    for name in gu.config.FLOAT_FIELDS:
        assert type(getattr(config, name)) is float and math.isfinite(getattr(config, name)), name
    assert all(type(w) is int and w >= 1 for w in config.widths) and config.widths
    assert len(config.betas) == 2 and all(type(b) is float for b in config.betas)
    assert len(set(config.metrics)) == len(config.metrics)
    restored = Config.from_dict(json.loads(json.dumps(config.to_dict())))
    assert restored == config and restored.key() == config.key()
    defaults = Config()
    tolerated = {(n, v) for n, v, _ in gu.config.STORED_IGNORED_VALUES}
    for name in config.ignored_fields():
        value = getattr(config, name)
        assert value == getattr(defaults, name) or (name, value) in tolerated, name
    assert config.batch_size is None or 1 <= config.batch_size < config.train_size()
    if config.is_algorithmic:
        assert 0 < config.train_size() < gu.config.table_size(config.task, config.p)
    assert eval_steps(config.eval_schedule, config.num_steps)[-1] == config.num_steps
    assert config.label()


def assert_clear_error(error: ValueError) -> None:
    message = str(error)
    named = re.match(r"Config\.(\w+) = ", message)
    assert named, message
    assert named.group(1) in {f.name for f in dataclasses.fields(Config)}, message
    assert "is not allowed; expected " in message, message


@pytest.mark.parametrize("name", sorted(FIELD_VALUES))
@settings(max_examples=40, deadline=None)
@given(base=st.sampled_from(BASES), data=st.data())
def test_property_one_field_clear_error_naming_it_or_well_defined(name, base, data):
    """Any value of any one field on a valid config: a ValueError naming that field (or the field it now
    conflicts with, e.g. a model that does not suit the new task), or a well-defined config."""
    value = draw_value(data, base, name)
    try:
        config = base.replace(**{name: value})
    except ValueError as error:
        assert_clear_error(error)
        return
    assert_well_defined(config)
    expected = tuple(value) if isinstance(value, list) else value
    if name in gu.config.FLOAT_FIELDS and isinstance(value, int) and not isinstance(value, bool):
        expected = float(value)  # 10**300 is stored as the float 1e300: only its type may change
    assert getattr(config, name) == expected


@settings(max_examples=250, deadline=None)
@given(base=st.sampled_from(BASES),
       changes=st.dictionaries(st.sampled_from(sorted(FIELD_VALUES)), st.just(None), min_size=2, max_size=6),
       data=st.data())
def test_property_many_fields_clear_error_or_well_defined(base, changes, data):
    values = {name: draw_value(data, base, name) for name in changes}
    try:
        config = base.replace(**values)
    except ValueError as error:
        assert_clear_error(error)
        return
    assert_well_defined(config)


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(sorted(FIELD_VALUES)), value=_garbage())
def test_property_a_wrongly_typed_value_names_its_own_field(name, value):
    """A value of the wrong type is refused naming that very field, before any cross-field check."""
    kinds = {**{n: int for n in gu.config.INT_FIELDS}, **{n: float for n in gu.config.FLOAT_FIELDS},
             **{n: bool for n in gu.config.BOOL_FIELDS}, **{n: str for n in gu.config.STR_FIELDS}}
    kind = kinds.get(name)
    wrong = (kind is int and (isinstance(value, bool) or not isinstance(value, int))
             or kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))
                                   or not math.isfinite(float(min(value, 1e308))))
             or kind is bool and not isinstance(value, bool) or kind is str and not isinstance(value, str))
    if not wrong:
        return
    with pytest.raises(ValueError, match=re.escape(f"Config.{name} = ")):
        Config(**{name: value})


@pytest.mark.parametrize("schedule, num_steps, message", [
    ("every:0", 10, "schedule='every:0'"), (None, 10, "schedule=None"), ("paper", -1, "num_steps=-1"),
    ("paper", 10.0, "num_steps=10.0"), ("every:5", True, "num_steps=True"),
])
def test_eval_steps_refuses_bad_arguments(schedule, num_steps, message):
    with pytest.raises(ValueError, match=re.escape(f"eval_steps: {message} is not allowed")):
        eval_steps(schedule, num_steps)


def test_from_dict_takes_a_dict():
    with pytest.raises(ValueError, match="from_dict takes a dict of field values, got list"):
        Config.from_dict([("task", "add")])
