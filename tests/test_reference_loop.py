"""The benchmark's plain reference computes the same function as grokutils' Transformer.

``benchmarks/bench_train.py`` times grokutils against
``benchmarks/reference_loop.py``; these tests prove that the two compare the
same model (logits and gradients) and the same training loop.
"""

import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import grokutils as gu

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from reference_loop import ReferenceTransformer, reference_evaluation_steps, reference_train  # noqa: E402

P, D_MODEL, HEADS, D_MLP = 23, 32, 4, 64


def small_pair(seed: int = 0):
    config = gu.presets.nanda("smoke", p=P, d_model=D_MODEL, num_heads=HEADS, d_mlp=D_MLP, seed=seed)
    dataset = gu.data.load(config)
    fast = gu.models.build(config, dataset.input_shape, dataset.num_classes, dataset.vocab_size)
    reference = ReferenceTransformer(dataset.vocab_size, dataset.num_classes, 3, D_MODEL, HEADS, D_MLP)
    return config, dataset, fast, reference.load_from(fast)


def full_table(dataset):
    return torch.cat([dataset.x_train, dataset.x_test]), torch.cat([dataset.y_train, dataset.y_test])


# reference parameter -> function of the grokutils model giving the same tensor
CORRESPONDING = {
    "embed.weight": lambda m: m.embed.weight,
    "pos": lambda m: m.pos,
    "attn.out_proj.weight": lambda m: m.blocks[0].out.weight,
    "mlp_in.weight": lambda m: m.blocks[0].mlp_in.weight,
    "mlp_in.bias": lambda m: m.blocks[0].mlp_in.bias,
    "mlp_out.weight": lambda m: m.blocks[0].mlp_out.weight,
    "mlp_out.bias": lambda m: m.blocks[0].mlp_out.bias,
    "unembed.weight": lambda m: m.head.weight,
}


def qkv(m):
    block = m.blocks[0]
    return torch.cat([block.query.weight, block.key.weight, block.value.weight])


def test_load_from_copies_every_parameter():
    _, _, fast, reference = small_pair()
    names = {name for name, _ in reference.named_parameters()}
    assert names == set(CORRESPONDING) | {"attn.in_proj_weight"}
    assert torch.equal(reference.attn.in_proj_weight, qkv(fast))
    for name, get in CORRESPONDING.items():
        assert torch.equal(reference.get_parameter(name), get(fast)), name
    assert sum(p.numel() for p in reference.parameters()) == sum(p.numel() for p in fast.parameters())


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_same_logits_on_full_dataset(training, seed):
    _, dataset, fast, reference = small_pair(seed)
    x, _ = full_table(dataset)
    fast.train(training)
    reference.train(training)
    with torch.no_grad():
        expected, got = fast(x), reference(x)
    assert got.shape == expected.shape == (P * P, P)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_same_logits_after_scaling_weights_up():
    """Large weights make attention sharp; the functions must still agree."""
    _, dataset, fast, _ = small_pair()
    with torch.no_grad():
        for parameter in fast.parameters():
            parameter.mul_(3.0)
    reference = ReferenceTransformer(dataset.vocab_size, dataset.num_classes, 3, D_MODEL, HEADS, D_MLP)
    reference.load_from(fast)
    x, _ = full_table(dataset)
    with torch.no_grad():
        expected, got = fast(x), reference(x)
    scale = float(expected.abs().max())  # logits reach ~1e3 here: compare relative to float32 precision
    assert scale > 100
    torch.testing.assert_close(got, expected, atol=1e-6 * scale, rtol=0)


def test_same_gradients():
    _, dataset, fast, reference = small_pair()
    x, y = full_table(dataset)
    F.cross_entropy(fast(x), y).backward()
    F.cross_entropy(reference(x), y).backward()
    block = fast.blocks[0]
    qkv_grad = torch.cat([block.query.weight.grad, block.key.weight.grad, block.value.weight.grad])
    torch.testing.assert_close(reference.attn.in_proj_weight.grad, qkv_grad, atol=1e-5, rtol=1e-4)
    for name, get in CORRESPONDING.items():
        torch.testing.assert_close(reference.get_parameter(name).grad, get(fast).grad, atol=1e-5, rtol=1e-4,
                                   msg=lambda m, name=name: f"{name}: {m}")


def test_evaluation_steps_match_grokutils():
    config = gu.presets.nanda("paper")
    short = config.replace(num_steps=300)
    assert reference_evaluation_steps(short, 300) == gu.config.eval_steps(short.eval_schedule, 300)
    assert reference_evaluation_steps(config, 300) == [0, 100, 200, 300]
    paper_schedule = config.replace(eval_schedule="paper", num_steps=1000)
    assert reference_evaluation_steps(paper_schedule, 1000) == gu.config.eval_steps("paper", 1000)
    assert reference_evaluation_steps(config, 250, eval_every=100) == [0, 100, 200, 250]


def test_same_training_run_as_grokutils():
    """Same init, optimiser, warm-up and evaluation steps: the loops train the same run."""
    config, dataset, fast, reference = small_pair()
    config = config.replace(num_steps=30, eval_schedule="every:10", device="cpu")
    result = gu.train.train(config, dataset=dataset, progress=False)
    run = reference_train(config, model=reference, dataset=dataset)
    assert run["steps"] == result.steps == [0, 10, 20, 30]
    for name in ("train_acc", "test_acc"):
        assert run["history"][name] == pytest.approx(result.history[name], abs=2 / len(dataset.y_train))
    for name in ("train_loss", "test_loss"):
        assert run["history"][name] == pytest.approx(result.history[name], rel=1e-3, abs=1e-4)
    trained = result.model
    torch.testing.assert_close(run["model"].attn.in_proj_weight, qkv(trained), atol=1e-4, rtol=1e-3)
    for name, get in CORRESPONDING.items():
        torch.testing.assert_close(run["model"].get_parameter(name), get(trained), atol=1e-4, rtol=1e-3)
