"""Config: validation, the content hash used as the store key, evaluation schedules."""

from __future__ import annotations

import dataclasses
import json
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
    dict(task="div", p=7), dict(task="div", p=113), dict(task="s5"), dict(task="s5", p=1),
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
    for name in ("activation", "mixing_alpha", "norm_matched", "stop_after_grok"):
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
    ("norm_matched", True), ("stop_after_grok", 2000),
]
#: Fields whose non-default value needs another base configuration to be valid.
KEY_CHANGE_BASES = {"activation": Config(task="mnist", model="mlp"),
                    "norm_matched": Config(mixing_alpha=0.1, metrics=("norm_trace",))}


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
    as_tuples = Config(widths=(200, 100), betas=(0.9, 0.99), metrics=("representation_norm",))
    as_lists = Config(widths=[200, 100], betas=[0.9, 0.99], metrics=["representation_norm"])
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
                            "stop_after_grok": None}
    assert base.replace(activation="relu").key() == base.key()
    assert base.replace(activation="tanh").key() != base.key()
    assert base.replace(activation="tanh").key() != base.replace(activation="softplus").key()


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
