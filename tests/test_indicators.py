"""Part V's indicators (grokutils.indicators): each one equals the book's metric function called directly,
on a tiny MLP and a tiny transformer; those that do not apply say so; each call can be timed."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import grokutils as gu
from grokutils import data as data_module
from grokutils import models
from grokutils.indicators import INDICATORS, REQUIREMENTS, Indicator, Probe, select
from grokutils.metrics import collapse, flatness, information, robustness, sharpness, spectral
from grokutils.metrics.basic import weight_norm
from grokutils.metrics.fourier import mean_fourier_alignment

N_IMAGES, CLASSES = 120, 4


@pytest.fixture(scope="module")
def mlp_case():
    """MLP 36-12-12-4 on random 6×6 images, with random 4-dimensional 'autoencoder codes'."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(N_IMAGES, 1, 6, 6, generator=g)
    y = torch.arange(N_IMAGES) % CLASSES
    codes = torch.randn(N_IMAGES, 4, generator=g)
    return models.MLP(36, (12, 12), CLASSES), Probe(x, y, task="mnist", codes=codes)


@pytest.fixture(scope="module")
def transformer_case():
    """A 1-layer transformer (d_model 16) on a + b mod 11, probe = the 60 training pairs."""
    torch.manual_seed(0)
    data = data_module.algorithmic("add", 11, 0.5)
    config = gu.Config(task="add", p=11, frac_train=0.5, d_model=16, num_heads=4, d_mlp=32)
    model = models.build(config, data.input_shape, data.num_classes, data.vocab_size)
    assert isinstance(model, models.Transformer)
    return model, Probe(data.x_train, data.y_train, task="add")


def direct(name: str, model, probe: Probe) -> dict[str, float]:
    """Each indicator's number computed here from the metric functions, with the callbacks' settings."""
    with torch.no_grad():
        h = model.features(probe.x).double()
    y = probe.y
    sigma = robustness.SIGMA_EMBEDDING if not probe.x.is_floating_point() else robustness.SIGMA_IMAGE
    if name == "weight_norm":
        return {name: weight_norm(model)}
    if name in ("rnc1", "nc1", "nc2", "ncc", "ncc_mean"):
        return {name: getattr(collapse, name)(h, y)}
    if name in ("spectral_entropy", "effective_rank"):
        return {name: getattr(spectral, name)(h)}
    if name == "relative_flatness":
        return {name: flatness.relative_flatness_closed_form(h, y, model.head.weight, model.head.bias)}
    if name == "flatness_bound":
        return {name: flatness.flatness_bound(h, y, model.head.weight, model.head.bias)}
    if name == "sharpness":
        params = [p for p in model.parameters() if p.requires_grad]
        trace, _ = flatness.hutchinson_trace(lambda: F.cross_entropy(model(probe.x), y), params,
                                             num_samples=sharpness.SAMPLES,
                                             generator=torch.Generator().manual_seed(sharpness.SEED))
        return {name: trace}
    if name == "perturbation_error":
        return {name: robustness.perturbation_error(model, probe.x, sigma,
                                                    generator=torch.Generator().manual_seed(robustness.NOISE_SEED))}
    if name == "matrix_information":
        signals = robustness.matrix_information_signals(
            model, probe.x, sigma, generator=torch.Generator().manual_seed(robustness.NOISE_SEED))
        return {k: signals[k] for k in ("pmi", "pe", "mid", "ed")}
    if name == "nhsic":
        one_hot = F.one_hot(y).double()
        zx, zy = [], []
        for start in range(0, len(y) - information.HSIC_BATCH + 1, information.HSIC_BATCH):
            b = slice(start, start + information.HSIC_BATCH)
            kz = information.gaussian_kernel(h[b])
            zx.append(information.nhsic(kz, information.gaussian_kernel(probe.x[b])))
            zy.append(information.nhsic(kz, one_hot[b] @ one_hot[b].T))
        zx, zy = sum(zx) / len(zx), sum(zy) / len(zy)
        return {"nhsic_zx": zx, "nhsic_zy": zy, "nhsic_redundancy": zx - zy}
    if name == "compression_mi":
        z = h / h.norm(dim=1).mean()
        noise = torch.randn(z.shape, generator=torch.Generator().manual_seed(information.NOISE_SEED),
                            dtype=torch.float64)
        mi = information.compression_mutual_information(z + information.NOISE_STD * noise, probe.codes, y)
        return {"mi_zx": mi["mi_zx"], "mi_zy": mi["mi_zy"], "mi_redundancy": mi["redundancy"]}
    if name == "fourier_alignment":
        return {name: mean_fourier_alignment(model.embed.weight, 11)}
    if name == "abelian_agreement":
        return {name: robustness.abelian_agreement(model, probe.x)}
    raise AssertionError(f"no direct computation for {name}")


MLP_NOT_APPLICABLE = {"fourier_alignment", "abelian_agreement"}
TRANSFORMER_NOT_APPLICABLE = {"nhsic", "compression_mi"}


def check_equal(indicator: Indicator, model, probe: Probe) -> None:
    got = indicator.values(model, probe)
    expected = direct(indicator.name, model, probe)
    assert set(got) == set(expected) == set(indicator.keys)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key


@pytest.mark.parametrize("name", sorted(set(INDICATORS) - MLP_NOT_APPLICABLE))
def test_each_indicator_equals_its_metric_on_the_mlp(mlp_case, name):
    model, probe = mlp_case
    assert INDICATORS[name].not_applicable(model, probe) is None
    check_equal(INDICATORS[name], model, probe)


@pytest.mark.parametrize("name", sorted(set(INDICATORS) - TRANSFORMER_NOT_APPLICABLE))
def test_each_indicator_equals_its_metric_on_the_transformer(transformer_case, name):
    model, probe = transformer_case
    assert INDICATORS[name].not_applicable(model, probe) is None
    check_equal(INDICATORS[name], model, probe)


def test_what_does_not_apply_says_why(mlp_case, transformer_case):
    mlp, image_probe = mlp_case
    transformer, token_probe = transformer_case
    reasons = {n: i.not_applicable(mlp, image_probe) for n, i in INDICATORS.items()}
    assert {n for n, r in reasons.items() if r is not None} == MLP_NOT_APPLICABLE
    assert "modular" in reasons["fourier_alignment"] and "commutative" in reasons["abelian_agreement"]
    reasons = {n: i.not_applicable(transformer, token_probe) for n, i in INDICATORS.items()}
    assert {n for n, r in reasons.items() if r is not None} == TRANSFORMER_NOT_APPLICABLE
    assert "images" in reasons["nhsic"] and "codes" in reasons["compression_mi"]
    # subtraction is modular but not commutative; S5 neither
    sub = Probe(token_probe.x, token_probe.y, task="sub")
    assert INDICATORS["fourier_alignment"].not_applicable(transformer, sub) is None
    assert "commutative" in INDICATORS["abelian_agreement"].not_applicable(transformer, sub)
    s5 = Probe(token_probe.x, token_probe.y, task="s5")
    assert INDICATORS["fourier_alignment"].not_applicable(transformer, s5) is not None
    # without codes, or with one class only, or fewer samples than an nHSIC batch
    no_codes = Probe(image_probe.x, image_probe.y)
    assert "codes" in INDICATORS["compression_mi"].not_applicable(mlp, no_codes)
    one_class = Probe(image_probe.x, torch.zeros_like(image_probe.y))
    for name in ("rnc1", "nc1", "nc2", "ncc", "ncc_mean", "relative_flatness", "flatness_bound", "nhsic"):
        assert "class" in INDICATORS[name].not_applicable(mlp, one_class)
    small = Probe(image_probe.x[:50], image_probe.y[:50])
    assert "batches" in INDICATORS["nhsic"].not_applicable(mlp, small)
    assert INDICATORS["rnc1"].not_applicable(torch.nn.Linear(36, 4), image_probe) is not None


def test_modulus_defaults_to_the_number_of_classes(transformer_case):
    model, probe = transformer_case
    explicit = Probe(probe.x, probe.y, task="add", p=11)
    assert INDICATORS["fourier_alignment"](model, probe) == INDICATORS["fourier_alignment"](model, explicit)


def test_sharpness_takes_the_probe_loss(mlp_case):
    model, probe = mlp_case
    mse = Probe(probe.x, probe.y, loss_fn=lambda logits, y: F.mse_loss(logits, F.one_hot(y, CLASSES).float()))
    params = list(model.parameters())
    trace, _ = flatness.hutchinson_trace(lambda: mse.loss(model(mse.x), mse.y), params,
                                         num_samples=sharpness.SAMPLES,
                                         generator=torch.Generator().manual_seed(sharpness.SEED))
    assert INDICATORS["sharpness"](model, mse) == pytest.approx(trace, rel=1e-12)
    assert all(p.grad is None for p in params)


def test_every_call_is_timed_and_positive(mlp_case):
    model, probe = mlp_case
    for indicator in INDICATORS.values():
        if indicator.not_applicable(model, probe) is None:
            values, seconds = indicator.timed(model, probe)
            assert seconds > 0 and all(math.isfinite(v) for v in values.values())


def test_registry_describes_every_indicator():
    keys = [key for indicator in INDICATORS.values() for key in indicator.keys]
    assert len(keys) == len(set(keys))
    for name, indicator in INDICATORS.items():
        assert indicator.name == name and "Part I" in indicator.description
        assert set(indicator.needs) <= set(REQUIREMENTS)
    assert set(INDICATORS) >= {"weight_norm", "rnc1", "nc1", "nc2", "ncc", "spectral_entropy", "effective_rank",
                               "relative_flatness", "flatness_bound", "sharpness", "perturbation_error",
                               "matrix_information", "nhsic", "compression_mi", "fourier_alignment",
                               "abelian_agreement"}


def test_select_and_probe_validate():
    assert [i.name for i in select(["rnc1", "nc1"])] == ["rnc1", "nc1"]
    assert select("rnc1")[0] is INDICATORS["rnc1"]
    with pytest.raises(ValueError, match="unknown indicator"):
        select(["rnc2"])
    with pytest.raises(ValueError, match="distinct"):
        select(["rnc1", "rnc1"])
    with pytest.raises(ValueError, match="unknown requirements"):
        Indicator("x", "Part I.", ("gpu",), lambda model, probe: 0.0)
    x = torch.randn(10, 1, 6, 6)
    with pytest.raises(ValueError, match="labels"):
        Probe(x, torch.randn(10))
    with pytest.raises(ValueError, match="N >= 2"):
        Probe(x[:1], torch.zeros(1, dtype=torch.long))
    with pytest.raises(ValueError, match="codes"):
        Probe(x, torch.zeros(10, dtype=torch.long), codes=torch.zeros(9, 4))
    with pytest.raises(ValueError, match="modulus"):
        Probe(x, torch.zeros(10, dtype=torch.long), p=2)
