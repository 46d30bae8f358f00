"""Part II's degrokking strategies (grokutils.perturbation): σ_t by hand, the noise reproducible from
(seed, step), the losses equal to their definitions, refused where they do not apply, and the sweep engine
training them exactly as one-by-one runs."""

import pytest
import torch
import torch.nn.functional as F

import grokutils as gu
from grokutils import perturbation
from grokutils.perturbation import NOISE_SEED_STRIDE

NANDA = gu.presets.nanda("smoke")
MNIST = gu.presets.omnigrok_mnist("smoke")


@pytest.mark.parametrize("scale, floor, accuracies, expected", [
    (0.5, 0.05, None, 0.5), (0.5, 0.05, [0.1, 0.6], 0.2), (0.5, 0.05, [1.0], 0.05), (0.0, 0.1, [0.3], 0.1)])
def test_noise_std_is_the_larger_of_the_scaled_error_and_the_floor(scale, floor, accuracies, expected):
    config = NANDA.replace(noise_scale=scale, noise_floor=floor)
    assert perturbation.noise_std(config, accuracies) == pytest.approx(expected)


def _model(config):
    data = gu.data.load(config)
    torch.manual_seed(config.seed)
    return gu.models.build(config, data.input_shape, data.num_classes, data.vocab_size), data


def test_token_embeddings_get_the_noise_of_their_seed_and_step():
    config = NANDA.replace(noise_scale=0.5)
    model, data = _model(config)
    x = data.x_train[:16]
    embedded = model.embed(x)
    generator = torch.Generator().manual_seed(config.seed * NOISE_SEED_STRIDE + 7)
    by_hand = model.forward_from_embeddings(embedded + 0.3 * torch.randn(embedded.shape, generator=generator))
    assert torch.allclose(perturbation.perturbed_logits(config, model, x, 0.3, 7), by_hand, atol=1e-6)
    assert torch.equal(perturbation.perturbed_logits(config, model, x, 0.3, 7),
                       perturbation.perturbed_logits(config, model, x, 0.3, 7))
    assert not torch.allclose(perturbation.perturbed_logits(config, model, x, 0.3, 8), by_hand)
    assert torch.allclose(perturbation.perturbed_logits(config, model, x, 0.0, 7), model(x), atol=1e-6)


def test_images_get_pixel_noise():
    config = MNIST.replace(noise_floor=0.1)
    model, data = _model(config)
    x = data.x_train[:8]
    generator = torch.Generator().manual_seed(config.seed * NOISE_SEED_STRIDE + 3)
    by_hand = model(x + 0.1 * torch.randn(x.shape, generator=generator))
    assert torch.allclose(perturbation.perturbed_logits(config, model, x, 0.1, 3), by_hand, atol=1e-6)


def test_the_abelian_loss_is_the_loss_plus_c_times_the_mse_of_swapped_logits():
    config = NANDA.replace(abelian_weight=100.0)
    model, data = _model(config)
    x, y = data.x_train[:32], data.y_train[:32]
    swapped = x[:, [1, 0, 2]]
    expected = F.cross_entropy(model(x).double(), y) + 100.0 * F.mse_loss(model(x), model(swapped))
    loss = gu.steps.training_loss(config, model, x, y)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("changes, words", [
    ({"noise_scale": -0.1}, "noise_scale"), ({"noise_floor": float("inf")}, "noise_floor"),
    ({"task": "sub", "abelian_weight": 1.0}, "unless the task commutes"),
    ({"noise_scale": 0.5, "abelian_weight": 1.0}, "0 when input noise is on"),
    ({"noise_scale": 0.5, "mixing_alpha": 0.1}, "Part III's intervention")])
def test_strategies_are_refused_where_they_do_not_apply(changes, words):
    with pytest.raises(ValueError, match=words):
        NANDA.replace(**changes)


def test_text_tasks_take_no_input_noise():
    with pytest.raises(ValueError, match="0 on a text task"):
        gu.presets.collapse_text("sst2").replace(noise_floor=0.1)


def test_labels_and_keys_name_the_strategy_and_leave_other_keys_alone():
    assert NANDA.replace(noise_scale=0.5, noise_floor=0.05).label().endswith("-noise0.5_0.05-lossf64-s0")
    assert "-abelian100-" in NANDA.replace(abelian_weight=100.0).label()
    assert gu.presets.nanda("paper").key() == "612331a3a3a7b2e3"  # the stored quick-start run's key


def test_the_sweep_trains_part2_runs_one_by_one_with_the_same_numbers():
    configs = [MNIST.replace(noise_scale=0.5, noise_floor=0.05, seed=s) for s in (0, 1)]
    swept = gu.sweep.train_sweep(configs, progress=False)
    assert swept[0].env["sweep_strategy"] == "loop"
    for config, result in zip(configs, swept):
        alone = gu.train.train(config, progress=False)
        assert alone.history["train_loss"] == result.history["train_loss"]
    with pytest.raises(ValueError, match="strategy='vmap' is not allowed"):
        gu.sweep.train_sweep(configs, progress=False, strategy="vmap")


def test_each_step_trains_with_the_sigma_of_the_last_evaluation(monkeypatch):
    config = NANDA.replace(noise_scale=2.0, noise_floor=0.01, num_steps=30, eval_schedule="every:10")
    seen = {}
    original = perturbation.strategy_loss

    def spy(config_, loss, model, x, y, step, std):
        seen[step] = std
        return original(config_, loss, model, x, y, step, std)

    monkeypatch.setattr(perturbation, "strategy_loss", spy)
    result = gu.train.train(config, progress=False)
    accuracy = dict(zip(result.steps, result.history["train_acc"]))
    assert sorted(seen) == list(range(30))
    for step, std in seen.items():
        last_evaluation = step - step % 10
        assert std == pytest.approx(max(2.0 * (1 - accuracy[last_evaluation]), 0.01))
