"""Models: the fast Transformer against a plain full-sequence implementation, init scaling,
features/head split, seeded construction."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import grokutils as gu
from grokutils.models import CNN, MLP, EmbedMLP, Transformer

P = 7  # symbols 0..6, '=' is 7


def reference_logits(model: Transformer, tokens: torch.Tensor) -> torch.Tensor:
    """Textbook decoder: every position through every block, causal softmax attention."""
    batch, n_ctx = tokens.shape
    x = model.embed(tokens) + model.pos[:n_ctx]
    causal = torch.ones(n_ctx, n_ctx, dtype=torch.bool).tril()
    for block in model.blocks:
        h = block.norm_attn(x)
        heads = block.num_heads

        def split(t):
            return t.view(batch, n_ctx, heads, -1).transpose(1, 2)  # (B, H, T, d_head)

        q, k, v = split(block.query(h)), split(block.key(h)), split(block.value(h))
        scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
        weights = scores.masked_fill(~causal, float("-inf")).softmax(-1)
        attended = (weights @ v).transpose(1, 2).reshape(batch, n_ctx, -1)
        x = x + block.out(attended)
        x = x + block.mlp_out(torch.relu(block.mlp_in(block.norm_mlp(x))))
    x = model.norm_final(x)
    return model.head(x[:, -1])


def make_transformer(num_layers: int, layer_norm: bool, seed: int = 0) -> Transformer:
    torch.manual_seed(seed)
    model = Transformer(vocab_size=P + 1, num_classes=P, n_ctx=3, d_model=16, num_heads=4, d_mlp=24,
                        num_layers=num_layers, layer_norm=layer_norm)
    # Make biases and LayerNorm parameters non-trivial so that the comparison exercises them.
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "norm" in name or name.endswith("bias"):
                parameter.add_(0.3 * torch.randn_like(parameter))
    return model.double()


def all_tokens() -> torch.Tensor:
    """Every (a, b, '=') input plus random sequences with '=' anywhere."""
    a, b = torch.meshgrid(torch.arange(P), torch.arange(P), indexing="ij")
    table = torch.stack([a.flatten(), b.flatten(), torch.full((P * P,), P)], dim=1)
    random = torch.randint(0, P + 1, (32, 3), generator=torch.Generator().manual_seed(1))
    return torch.cat([table, random])


TRANSFORMERS = [(1, False), (1, True), (2, False), (2, True)]


@pytest.mark.parametrize("num_layers, layer_norm", TRANSFORMERS)
def test_transformer_matches_full_sequence_reference(num_layers, layer_norm):
    model = make_transformer(num_layers, layer_norm)
    tokens = all_tokens()
    with torch.no_grad():
        fast, slow = model(tokens), reference_logits(model, tokens)
    assert fast.shape == (len(tokens), P)
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=0)


@pytest.mark.parametrize("num_layers, layer_norm", TRANSFORMERS)
def test_transformer_matches_reference_in_float32(num_layers, layer_norm):
    model = make_transformer(num_layers, layer_norm).float()
    tokens = all_tokens()
    with torch.no_grad():
        torch.testing.assert_close(model(tokens), reference_logits(model, tokens), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("num_layers, layer_norm", TRANSFORMERS)
def test_transformer_gradients_match_reference(num_layers, layer_norm):
    model = make_transformer(num_layers, layer_norm)
    tokens = all_tokens()
    labels = torch.randint(0, P, (len(tokens),), generator=torch.Generator().manual_seed(2))

    def grads(forward):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(forward(model, tokens), labels).backward()
        return {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}

    fast = grads(lambda m, t: m(t))
    slow = grads(reference_logits)
    assert fast.keys() == slow.keys() == {name for name, _ in model.named_parameters()}
    for name in fast:
        torch.testing.assert_close(fast[name], slow[name], atol=1e-7, rtol=1e-6, msg=f"gradient of {name}")


def test_transformer_init():
    torch.manual_seed(0)
    d_model, vocab = 64, 114
    model = Transformer(vocab, 113, d_model=d_model, num_heads=4, d_mlp=256, layer_norm=True)
    std = {name: p.detach() for name, p in model.named_parameters()}
    assert float(std["embed.weight"].std()) == pytest.approx(1 / math.sqrt(d_model), rel=0.05)
    assert float(std["blocks.0.query.weight"].std()) == pytest.approx(1 / math.sqrt(d_model), rel=0.1)
    assert float(std["head.weight"].std()) == pytest.approx(1 / math.sqrt(vocab), rel=0.1)
    assert (std["blocks.0.mlp_in.bias"] == 0).all() and (std["blocks.0.mlp_out.bias"] == 0).all()
    assert (std["norm_final.weight"] == 1).all() and (std["norm_final.bias"] == 0).all()
    assert all(block.query.bias is None and block.out.bias is None for block in model.blocks)
    assert model.head.bias is None


# ----------------------------------------------------------------- init scale
def scaled_pair(factory, scale: float):
    torch.manual_seed(0)
    plain = factory(1.0)
    torch.manual_seed(0)
    scaled = factory(scale)
    return ({name: p.detach() for name, p in plain.named_parameters()},
            {name: p.detach() for name, p in scaled.named_parameters()})


@pytest.mark.parametrize("factory", [
    lambda s: MLP(784, (20, 10), 10, init_scale=s),
    lambda s: EmbedMLP(8, 6, (12,), 7, init_scale=s),
    lambda s: Transformer(8, 7, d_model=8, num_heads=2, d_mlp=12, init_scale=s),
], ids=["MLP", "EmbedMLP", "Transformer"])
def test_init_scale_multiplies_every_parameter(factory):
    plain, scaled = scaled_pair(factory, 8.0)
    assert plain.keys() == scaled.keys()
    for name in plain:
        torch.testing.assert_close(scaled[name], 8.0 * plain[name], msg=f"parameter {name}")
    assert any(float(p.abs().sum()) > 0 for p in plain.values())


def test_mlp_weight_norm_scales_with_init_scale():
    plain, scaled = scaled_pair(lambda s: MLP(30, (20, 10), 5, init_scale=s), 8.0)
    norm = lambda ps: math.sqrt(sum(float(p.double().pow(2).sum()) for p in ps.values()))  # noqa: E731
    assert norm(scaled) == pytest.approx(8.0 * norm(plain), rel=1e-6)


def test_cnn_init_scale_only_on_fully_connected_layers():
    plain, scaled = scaled_pair(lambda s: CNN(1, 28, 10, width=32, init_scale=s), 8.0)
    assert any(name.startswith("conv") for name in plain)
    for name in plain:
        factor = 1.0 if name.startswith("conv") else 8.0
        assert name.startswith(("conv", "fc", "head"))
        torch.testing.assert_close(scaled[name], factor * plain[name], msg=f"parameter {name}")


# ----------------------------------------------------------- features + head
def model_cases():
    torch.manual_seed(0)
    tokens = torch.randint(0, 7, (10, 3))
    return [
        ("MLP", MLP(28 * 28, (16, 8), 10, init_scale=2.0), torch.randn(6, 1, 28, 28), 8),
        ("EmbedMLP", EmbedMLP(8, 6, (12, 5), 7), tokens, 5),
        ("Transformer-1", Transformer(8, 7, d_model=8, num_heads=2, d_mlp=12), tokens, 8),
        ("Transformer-2", Transformer(8, 7, d_model=8, num_heads=2, d_mlp=12, num_layers=2, layer_norm=True),
         tokens, 8),
        ("CNN", CNN(1, 28, 10, width=16), torch.randn(4, 1, 28, 28), 16),
        ("CNN-rgb", CNN(3, 32, 10, width=16), torch.randn(4, 3, 32, 32), 16),
    ]


@pytest.mark.parametrize("name, model, x, d_features", model_cases(), ids=[c[0] for c in model_cases()])
def test_features_then_head_is_forward(name, model, x, d_features):
    with torch.no_grad():
        features = model.features(x)
        assert features.shape == (len(x), d_features)
        torch.testing.assert_close(model.head(features), model(x), atol=0, rtol=0)


def test_embed_mlp_uses_only_a_and_b():
    torch.manual_seed(0)
    model = EmbedMLP(8, 6, (12,), 7)
    tokens = torch.tensor([[1, 2, 7], [3, 4, 7]])
    other = tokens.clone()
    other[:, 2] = 0
    torch.testing.assert_close(model(tokens), model(other))


# ------------------------------------------------------------------ build
BUILD_CASES = [
    (gu.Config(task="add", p=7, d_model=8, num_heads=2, d_mlp=16), Transformer, (3,), 7, 8),
    (gu.Config(task="add", p=7, model="mlp", d_model=8, widths=(16,)), EmbedMLP, (3,), 7, 8),
    (gu.Config(task="mnist", model="mlp", widths=(16, 16), init_scale=8.0), MLP, (1, 28, 28), 10, None),
    (gu.Config(task="mnist", model="cnn", init_scale=2.0), CNN, (1, 28, 28), 10, None),
]


@pytest.mark.parametrize("config, kind, input_shape, num_classes, vocab", BUILD_CASES,
                         ids=[c[1].__name__ for c in BUILD_CASES])
def test_build_is_deterministic_given_seed(config, kind, input_shape, num_classes, vocab):
    a = gu.models.build(config, input_shape, num_classes, vocab)
    torch.manual_seed(12345)  # the global RNG state before build must not matter
    torch.randn(10)
    b = gu.models.build(config, input_shape, num_classes, vocab)
    c = gu.models.build(config.replace(seed=config.seed + 1), input_shape, num_classes, vocab)
    assert isinstance(a, kind)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert sa.keys() == sb.keys()
    for name in sa:
        assert torch.equal(sa[name], sb[name]), name
    assert any(not torch.equal(sa[name], sc[name]) for name in sa)
    x = torch.zeros(2, *input_shape, dtype=torch.long if vocab else torch.float32)
    assert a(x).shape == (2, num_classes)


def test_build_transformer_follows_config():
    config = gu.Config(task="sub", p=11, d_model=12, num_heads=3, d_mlp=20, num_layers=2, layer_norm=True)
    model = gu.models.build(config, (3,), 11, 12)
    assert len(model.blocks) == 2 and model.blocks[0].num_heads == 3
    assert model.embed.weight.shape == (12, 12) and model.head.weight.shape == (11, 12)
    assert isinstance(model.norm_final, torch.nn.LayerNorm)


def test_vit_class_token_attends_to_every_patch_and_init_scale_hits_mlp_and_head_only(
        init_scale_hits_mlp_and_head_only):
    import torch

    from grokutils.config import Config
    from grokutils.models import ViT, build

    plain = init_scale_hits_mlp_and_head_only(
        lambda scale: ViT(1, 28, 10, d_model=32, num_heads=4, d_mlp=64, init_scale=scale))
    x = torch.randn(3, 1, 28, 28)
    assert plain(x).shape == (3, 10) and plain.features(x).shape == (3, 32)
    assert plain.first_layer(x).shape == (3, 32)
    changed = x.clone()
    changed[:, :, :7, :7] += 1.0  # the first patch only: the class token must see it
    assert not torch.allclose(plain(x), plain(changed))
    model = build(Config(task="mnist", model="vit", d_model=32, num_heads=4, d_mlp=64), (1, 28, 28), 10)
    assert isinstance(model, ViT)


def test_vit_config_is_validated():
    import pytest

    from grokutils.config import Config

    with pytest.raises(ValueError, match="num_layers"):
        Config(task="mnist", model="vit", num_layers=2)
    with pytest.raises(ValueError, match="algorithmic"):
        Config(task="add", model="vit")


def test_resnet18_has_the_standard_shape_and_a_512_dim_representation():
    import torch

    from grokutils.config import Config
    from grokutils.models import ResNet18, build

    model = build(Config(task="cifar10", model="resnet18", num_train=50_000), (3, 32, 32), 10)
    assert isinstance(model, ResNet18)
    assert 11_000_000 < sum(p.numel() for p in model.parameters()) < 11_300_000  # ResNet-18: 11.2M
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    assert model.features(x).shape == (2, 512) and model(x).shape == (2, 10)


def test_the_transformer_init_is_the_books_or_pytorchs():
    """``init='book'``: Nanda et al.'s N(0, 1/d_model) embeddings and zero biases; ``'pytorch'``: each layer's
    default (nn.Embedding N(0, 1), nn.Linear's uniform biases) and N(0, 1) positions (Part III's calibration)."""
    config = gu.presets.spectral_main("smoke")[0]
    book = gu.models.build(config, (3,), 97, 99)
    torch_init = gu.models.build(config.replace(init="pytorch"), (3,), 97, 99)
    assert abs(float(book.embed.weight.std()) - 1 / 128 ** 0.5) < 0.01
    assert abs(float(torch_init.embed.weight.std()) - 1.0) < 0.05 and abs(float(torch_init.pos.std()) - 1.0) < 0.3
    assert float(book.blocks[0].mlp_in.bias.abs().max()) == 0.0
    bound = 1 / 128 ** 0.5  # nn.Linear(128, 512): biases uniform in ±1/√fan_in
    assert 0 < float(torch_init.blocks[0].mlp_in.bias.abs().max()) <= bound
    with pytest.raises(ValueError, match="init='xavier' is not allowed"):
        gu.models.Transformer(99, 97, init="xavier")
