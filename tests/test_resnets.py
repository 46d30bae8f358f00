"""Part IV's ResNet code paths (grokutils.resnets, grokutils.cifar; Han et al. 2025, Sections 5-6, Appendices B-C)
on a tiny random-tensor stand-in for CIFAR-10: shapes, the Config that builds each ResNet, one training step with
each regulariser, the regulariser's gradient, and the message when CIFAR-10 or torchvision is missing."""

from __future__ import annotations

import math
import sys
import types

import pytest
import torch

import grokutils as gu
from grokutils import cifar, regularisers, resnets

#: The paper's CIFAR-10 setup (Appendix B): SGD, lr 0.01, momentum 0.9, batch 64, no weight decay, no schedule.
PAPER = dict(task="cifar10", num_train=50_000, optimizer="sgd", lr=0.01, momentum=0.9, batch_size=64,
             weight_decay=0.0, warmup_steps=0, device="cpu")
STEPS_PER_EPOCH = 50_000 // 64
#: The stand-in's training run: 16 random 3 × 8 × 8 "images" of 10 classes, batches of 8, two SGD steps.
STANDIN = gu.Config(**{**PAPER, "model": "resnet10", "num_train": 16, "batch_size": 8, "num_steps": 2,
                         "eval_schedule": "every:1"})


def standin(seed: int = 0, size: int = 8) -> gu.data.Dataset:
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(32, 3, size, size, generator=g), torch.arange(32) % 10
    return gu.data.Dataset(x[:16], y[:16], x[16:], y[16:], num_classes=10)


def test_the_resnets_have_their_sizes_and_a_512_dimensional_penultimate_map():
    x = torch.randn(2, 3, 32, 32)
    for cls, parameters in ((resnets.ResNet18, 11_173_962), (resnets.ResNet10, 4_903_242)):
        for stem in resnets.STEMS:
            model = cls(3, 10, stem=stem).eval()
            assert model.features(x).shape == (2, 512) and model(x).shape == (2, 10)
            assert torch.equal(model.head(model.features(x)), model(x))
        assert sum(p.numel() for p in cls(3, 10).parameters()) == parameters
    assert len(resnets.ResNet18(3, 10).stages) == 8 and len(resnets.ResNet10(3, 10).stages) == 4
    assert isinstance(resnets.ResNet18(3, 10, stem="imagenet").stem[-1], torch.nn.MaxPool2d)
    with pytest.raises(ValueError, match="stem='vgg' is not allowed"):
        resnets.ResNet10(3, 10, stem="vgg")
    with pytest.raises(ValueError, match=r"blocks=\(2, 2\) is not allowed; expected 4 positive integers"):
        resnets.CifarResNet(3, 10, blocks=(2, 2))


def test_the_config_builds_each_resnet_and_checks_it():
    assert gu.models.ResNet18 is resnets.ResNet18 and gu.models.ResNet10 is resnets.ResNet10  # importable as before
    for name, cls in resnets.RESNETS.items():
        model = gu.models.build(gu.Config(task="cifar10", model=name, num_train=100), (3, 32, 32), 10)
        assert type(model) is cls
    with pytest.raises(ValueError, match=r"Config\.model = 'resnet10' is not allowed; expected 'transformer' or"):
        gu.Config(task="add", model="resnet10")
    with pytest.raises(ValueError, match="init_scale.*standard initialisation"):
        gu.Config(task="cifar10", model="resnet10", init_scale=2.0)


def test_the_papers_cifar_setups_are_valid_configs():
    """Section 5: ResNet-18, λ = 1e-3, 250 epochs; Section 6: ResNet-10, λ = 1e-4 unplugged after epoch 100 of 650."""
    ncc = gu.Config(**PAPER, model="resnet18", ncc_weight=1e-3, num_steps=250 * STEPS_PER_EPOCH)
    flat = gu.Config(**PAPER, model="resnet10", flatness_weight=1e-4, unplug_step=100 * STEPS_PER_EPOCH,
                     num_steps=650 * STEPS_PER_EPOCH)
    assert ncc.label() == "cifar1050000-resnet18-wd0-ncc0.001-s0"
    assert flat.label() == "cifar1050000-resnet10-wd0-flat0.0001_unplug78100-s0"
    assert regularisers.applies(flat, 78_099) and not regularisers.applies(flat, 78_100)


@pytest.mark.parametrize("model, regulariser", [("resnet18", {"ncc_weight": 1e-3}),
                                                ("resnet10", {"flatness_weight": 1e-4, "unplug_step": 1})],
                         ids=["resnet18-ncc", "resnet10-flatness-unplugged"])
def test_one_training_step_with_each_regulariser_on_the_standin(model, regulariser):
    config = STANDIN.replace(model=model, **regulariser)
    data = standin()
    initial = gu.models.build(config, data.input_shape, data.num_classes).state_dict()
    result = gu.train.train(config, data, progress=False)
    assert result.steps == [0, 1, 2]
    assert all(math.isfinite(v) for series in ("train_loss", "test_loss", "weight_norm")
               for v in result.history[series])
    trained = result.model.state_dict()
    assert not torch.equal(trained["stem.0.weight"], initial["stem.0.weight"])
    assert not torch.equal(trained["head.weight"], initial["head.weight"])


@pytest.mark.parametrize("model", ["resnet18", "resnet10"])
@pytest.mark.parametrize("regulariser", [{"ncc_weight": 1e-3}, {"flatness_weight": 1e-4}], ids=["ncc", "flatness"])
def test_the_regularisers_gradient_through_a_resnet_is_finite_and_non_zero(model, regulariser):
    config = STANDIN.replace(model=model, **regulariser)
    data = standin(1)
    network = gu.models.build(config, data.input_shape, data.num_classes)
    features = network.features(data.x_train[:8])
    logits = network.head(features)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])  # two per class: NCC of singleton classes is 0 at any features
    regularisers.penalty(config, features, logits, labels, network.head.weight).backward()
    reached = ("stem.0.weight", "stages.0.conv1.weight") + (("head.weight",) if config.flatness_weight else ())
    for name in reached:  # NCC reads the features only, κ the head's weights too
        gradient = dict(network.named_parameters())[name].grad
        assert gradient is not None and bool(torch.isfinite(gradient).all()) and float(gradient.abs().max()) > 0, name


# ------------------------------------------------------------------ CIFAR-10
def test_without_torchvision_cifar10_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # `import torchvision` fails
    with pytest.raises(RuntimeError, match=r"needs torchvision.*pip install torchvision==0\.28\.0"):
        cifar.cifar10(data_dir=tmp_path)
    with pytest.raises(RuntimeError, match="needs torchvision"):
        cifar.cifar10(data_dir=tmp_path, download=True)


def test_without_the_data_cifar10_says_where_to_put_it_and_how_to_download_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torchvision", types.ModuleType("torchvision"))  # installed, say
    monkeypatch.setattr(gu.data, "torchvision_images", lambda *a: pytest.fail("read the data before checking"))
    with pytest.raises(RuntimeError) as info:
        cifar.cifar10(data_dir=tmp_path / "data")
    message = str(info.value)
    for fragment in (str(tmp_path / "data" / "cifar-10-batches-py"), "GROKUTILS_DATA", "download=True",
                     "cifar-10-python.tar.gz"):
        assert fragment in message, (fragment, message)
    monkeypatch.setenv("GROKUTILS_DATA", str(tmp_path / "elsewhere"))
    assert str(tmp_path / "elsewhere" / "cifar-10-batches-py") in cifar.cifar10_missing()


def test_with_the_data_cifar10_is_the_configs_loader(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torchvision", types.ModuleType("torchvision"))
    (tmp_path / "cifar-10-batches-py").mkdir()
    calls = []
    monkeypatch.setattr(gu.data, "torchvision_images", lambda *arguments: calls.append(arguments) or "dataset")
    assert cifar.cifar10_missing(tmp_path) is None
    assert cifar.cifar10(1000, tmp_path) == "dataset" and calls == [("cifar10", 1000, tmp_path, False)]
    assert cifar.cifar10_missing(tmp_path / "empty", download=True) is None  # torchvision will download it


def test_a_cifar_run_without_the_data_fails_before_any_work(monkeypatch, tmp_path):
    monkeypatch.setenv("GROKUTILS_DATA", str(tmp_path))
    monkeypatch.setattr(gu.models, "build", lambda *a: pytest.fail("built a model before loading the data"))
    config = gu.Config(**PAPER, model="resnet10", flatness_weight=1e-4, num_steps=10)
    with pytest.raises(RuntimeError, match="torchvision|download"):
        gu.train.train(config, progress=False)
