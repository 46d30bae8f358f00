"""Models of the book. Every model splits into ``features(x)`` and ``head``.

``features`` is the representation ``h(x)`` that the metrics read (the input of
the final linear classifier, see ``shared definitions`` in the book's
introduction) and ``forward(x) = head(features(x))``.

- :class:`MLP` — Liu et al. (Omnigrok, 2023) and Part I: ReLU MLP whose every
  parameter is multiplied by ``init_scale`` after PyTorch's default init.
- :class:`Transformer` — Nanda et al. (2023) / Part III: 1- or 2-layer
  attention-only-then-MLP transformer, no biases in attention, optional
  pre-LayerNorm. It computes only what the answer position needs.
- :class:`EmbedMLP` — Part III's MLP baseline on algorithmic tasks.
- :class:`CNN` — Part I, Appendix C: two conv + max-pool layers, two fully
  connected layers, ``init_scale`` on the fully connected layers only.
- :class:`ViT` and :class:`TextTransformer` — Part I, Appendix C: one-layer
  transformers with a class token, on image patches and on sentences.
- :class:`ResNet18` and :class:`ResNet10` (:mod:`grokutils.resnets`) — Part I's CIFAR-10 information-bottleneck
  run and Part IV's regularised CIFAR-10 runs.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from grokutils.resnets import RESNETS
from grokutils.resnets import ResNet10 as ResNet10  # importable from here as before
from grokutils.resnets import ResNet18 as ResNet18

if TYPE_CHECKING:
    from grokutils.config import Config


def scale_parameters(modules: list[nn.Module], factor: float) -> None:
    """Multiply every parameter of ``modules`` by ``factor`` in place (Omnigrok's alpha)."""
    with torch.no_grad():
        for module in modules:
            for parameter in module.parameters():
                parameter.mul_(factor)


ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "softplus": nn.Softplus}


class MLP(nn.Module):
    """MLP ``in -> widths... -> num_classes`` (Part I, Setup; Omnigrok MNIST), ReLU by default;
    ``activation='tanh'`` or ``'softplus'`` gives the smooth network of Part I, Theorem 4.3.

    ``features`` is the last hidden layer after its activation (d = widths[-1]).
    """

    def __init__(self, in_dim: int, widths: tuple[int, ...], num_classes: int, init_scale: float = 1.0,
                 activation: str = "relu"):
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        for width_in, width_out in zip((in_dim, *widths[:-1]), widths):
            layers += [nn.Linear(width_in, width_out), ACTIVATIONS[activation]()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(widths[-1], num_classes)
        scale_parameters([self], init_scale)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def first_layer(self, x: torch.Tensor) -> torch.Tensor:
        """Output of the first hidden Linear + ReLU, ``(B, widths[0])``: the first-layer
        representation whose Gram matrix Part II's PMI (Tan & Huang 2023) compares with the output's."""
        return self.body[:3](x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class EmbedMLP(nn.Module):
    """Embeddings of ``a`` and ``b`` concatenated, then a ReLU MLP and a linear head
    (Part III, claim 7: the MLP that memorises but does not grok)."""

    def __init__(self, vocab_size: int, d_embed: int, widths: tuple[int, ...], num_classes: int,
                 init_scale: float = 1.0):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_embed)
        self.mlp = MLP(2 * d_embed, widths, num_classes)
        self.head = self.mlp.head
        scale_parameters([self], init_scale)

    def features(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.mlp.features(self.embed(tokens[:, :2]).flatten(1))

    def first_layer(self, tokens: torch.Tensor) -> torch.Tensor:
        """First hidden layer of the MLP (after its ReLU): the first-layer representation of
        Part II's PMI (Tan & Huang 2023)."""
        return self.first_layer_from_embeddings(self.embed(tokens))

    def first_layer_from_embeddings(self, embedded: torch.Tensor) -> torch.Tensor:
        """:meth:`first_layer` from token embeddings ``(B, T, d_embed)`` (only ``a``, ``b`` are read)."""
        return self.mlp.first_layer(embedded[:, :2].flatten(1))

    def forward_from_embeddings(self, embedded: torch.Tensor) -> torch.Tensor:
        """Logits from token embeddings ``(B, T, d_embed)``, so that Part II (Tan & Huang 2023)
        can perturb the input embeddings; ``forward_from_embeddings(embed(t)) == forward(t)``."""
        return self.mlp(embedded[:, :2].flatten(1))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(tokens))


class Block(nn.Module):
    """One transformer block: causal multi-head attention, then a ReLU MLP.

    Attention has no biases (as in Nanda et al. 2023); the MLP has biases.
    """

    def __init__(self, d_model: int, num_heads: int, d_mlp: int, layer_norm: bool):
        super().__init__()
        self.num_heads = num_heads
        self.query = nn.Linear(d_model, d_model, bias=False)
        self.key = nn.Linear(d_model, d_model, bias=False)
        self.value = nn.Linear(d_model, d_model, bias=False)
        self.out = nn.Linear(d_model, d_model, bias=False)
        self.mlp_in = nn.Linear(d_model, d_mlp)
        self.mlp_out = nn.Linear(d_mlp, d_model)
        self.norm_attn = nn.LayerNorm(d_model) if layer_norm else nn.Identity()
        self.norm_mlp = nn.LayerNorm(d_model) if layer_norm else nn.Identity()

    def heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(-1, (self.num_heads, -1))

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mlp_out(F.relu(self.mlp_in(self.norm_mlp(x))))

    def attend_last(self, keys: torch.Tensor, values: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """Attention output of the last position only.

        ``keys``/``values``: ``(B, T, H, d_head)``; ``query``: ``(B, H, d_head)``.
        With T = 3 an elementwise product and a sum beat batched matmuls.
        """
        scores = (keys * query.unsqueeze(1)).sum(-1) / math.sqrt(query.shape[-1])  # (B, T, H)
        weights = scores.softmax(dim=1)
        mixed = (weights.unsqueeze(-1) * values).sum(1)  # (B, H, d_head)
        return self.out(mixed.flatten(1))

    def forward_all(self, x: torch.Tensor) -> torch.Tensor:
        """Full causal block on every position (used below the last layer)."""
        normed = self.norm_attn(x)
        q, k, v = (self.heads(f(normed)).transpose(1, 2) for f in (self.query, self.key, self.value))
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.out(attended.transpose(1, 2).flatten(2))
        return self.mlp(x)

    def forward_last(self, x: torch.Tensor) -> torch.Tensor:
        """Block output at the last position only: ``(B, T, d) -> (B, d)``."""
        return self.mlp(self.attention_last(x))

    def attention_last(self, x: torch.Tensor) -> torch.Tensor:
        """Residual stream at the last position after the attention sublayer, before the MLP:
        ``(B, T, d) -> (B, d)``."""
        normed = self.norm_attn(x)
        keys, values = self.heads(self.key(normed)), self.heads(self.value(normed))
        query = self.heads(self.query(normed[:, -1]))
        return x[:, -1] + self.attend_last(keys, values, query)


class Transformer(nn.Module):
    """Decoder-only transformer for ``(a, b, '=')`` inputs (Nanda et al. 2023).

    Only the answer (last) position is read, so the last block computes its
    query, MLP and unembedding there alone. In a 1-layer model every
    position's block input depends only on (token, position), so keys and
    values are computed once per vocabulary entry and position and gathered —
    exactly the same function as the full computation, for a fraction of the
    work (tested against a plain implementation in ``tests/test_models.py``).

    Init follows Nanda et al.: N(0, 1/d_model) for embeddings and square
    matrices, N(0, 1/d_model) for the MLP, N(0, 1/vocab) for the unembedding,
    zero biases; then every parameter is multiplied by ``init_scale``. ``init='pytorch'`` keeps each
    layer's PyTorch default instead (``nn.Linear``'s uniform ±1/√fan_in, ``nn.Embedding``'s N(0, 1), and
    N(0, 1) for the position embedding, as an ``nn.Embedding`` would have it): Part III's calibration.
    """

    def __init__(self, vocab_size: int, num_classes: int, n_ctx: int = 3, d_model: int = 128,
                 num_heads: int = 4, d_mlp: int = 512, num_layers: int = 1, layer_norm: bool = False,
                 init_scale: float = 1.0, init: str = "book"):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Parameter(torch.empty(n_ctx, d_model))
        self.blocks = nn.ModuleList(Block(d_model, num_heads, d_mlp, layer_norm) for _ in range(num_layers))
        self.norm_final = nn.LayerNorm(d_model) if layer_norm else nn.Identity()
        self.head = nn.Linear(d_model, num_classes, bias=False)
        if init == "book":
            self._init(d_model, vocab_size)
        elif init == "pytorch":
            nn.init.normal_(self.pos)
        else:
            raise ValueError(f"Transformer: init={init!r} is not allowed; expected 'book' or 'pytorch'.")
        scale_parameters([self], init_scale)

    def _init(self, d_model: int, vocab_size: int) -> None:
        with torch.no_grad():
            for name, parameter in self.named_parameters():
                if "norm" in name:
                    continue  # LayerNorm keeps weight 1, bias 0
                if name.endswith("bias"):
                    parameter.zero_()
                elif name.startswith("head"):
                    parameter.normal_(0, 1 / math.sqrt(vocab_size))
                else:
                    parameter.normal_(0, 1 / math.sqrt(d_model))

    def features(self, tokens: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        table = self.embed.weight.unsqueeze(1) + self.pos.unsqueeze(0)  # (V, T, d): input per (token, pos)
        *lower, last = self.blocks
        if lower:
            x = table[tokens, positions]
            for block in lower:
                x = block.forward_all(x)
            out = last.forward_last(x)
        else:
            out = self._single_block_from_table(last, table, tokens, positions)
        return self.norm_final(out)

    @staticmethod
    def _single_block_from_table(block: Block, table: torch.Tensor, tokens: torch.Tensor,
                                 positions: torch.Tensor) -> torch.Tensor:
        batch, n_ctx = tokens.shape
        rows = (tokens * n_ctx + positions).flatten()  # row of (token, position) in the flat table

        def lookup(per_entry: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
            # index_select: its backward is far cheaper than advanced indexing's on the CPU
            return per_entry.flatten(0, 1).index_select(0, index)

        normed = block.norm_attn(table)
        keys = block.heads(lookup(block.key(normed), rows).view(batch, n_ctx, -1))  # (B, T, H, d_head)
        values = block.heads(lookup(block.value(normed), rows).view(batch, n_ctx, -1))
        last_rows = rows.view(batch, n_ctx)[:, -1]
        query = block.heads(lookup(block.query(normed), last_rows))  # (B, H, d_head)
        residual = lookup(table, last_rows)
        return block.mlp(residual + block.attend_last(keys, values, query))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(tokens))

    def first_layer(self, tokens: torch.Tensor) -> torch.Tensor:
        """Residual stream at the answer (last) position after block 0's attention sublayer
        (token + position embedding + attention output), before block 0's MLP: ``(B, d_model)``.
        The first-layer representation of Part II's PMI (Tan & Huang 2023)."""
        return self.first_layer_from_embeddings(self.embed(tokens))

    def first_layer_from_embeddings(self, embedded: torch.Tensor) -> torch.Tensor:
        """:meth:`first_layer` from token embeddings ``(B, T, d_model)`` (positions not yet added)."""
        return self.blocks[0].attention_last(embedded + self.pos[:embedded.shape[1]])

    def forward_from_embeddings(self, embedded: torch.Tensor) -> torch.Tensor:
        """Logits from token embeddings ``(B, T, d_model)`` (before positional embeddings are
        added), by the plain path (no per-token table), so that Part II (Tan & Huang 2023) can
        perturb the input embeddings; ``forward_from_embeddings(embed(t))`` equals ``forward(t)``."""
        x = embedded + self.pos[:embedded.shape[1]]
        *lower, last = self.blocks
        for block in lower:
            x = block.forward_all(x)
        return self.head(self.norm_final(last.forward_last(x)))


class CNN(nn.Module):
    """Two 3x3 conv layers (32, 64 channels) with 2x2 max-pool, then two fully
    connected layers (Part I, Appendix C.1). ``init_scale`` multiplies only the
    fully connected layers, as the authors did for stability."""

    def __init__(self, in_channels: int, image_size: int, num_classes: int, width: int = 200,
                 init_scale: float = 1.0):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
        self.fc = nn.Sequential(nn.Linear(64 * (image_size // 4) ** 2, width), nn.ReLU())
        self.head = nn.Linear(width, num_classes)
        scale_parameters([self.fc, self.head], init_scale)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x))

    def first_layer(self, x: torch.Tensor) -> torch.Tensor:
        """Output of the first conv + ReLU + max-pool, flattened ``(B, 32 · (H/2) · (W/2))``: the
        first-layer representation of Part II's PMI (Tan & Huang 2023)."""
        return self.conv[:3](x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ClassTokenTransformer(nn.Module):
    """What the one-layer :class:`ViT` and :class:`TextTransformer` share: a subclass embeds its input
    in :meth:`tokens` (class token last), then one attention + MLP :class:`Block`, an optional final
    LayerNorm and a linear head on the class token. ``init_scale`` multiplies the feed-forward (MLP)
    weights and the head only (Part I, Appendix C)."""

    def _add_block_and_head(self, d_model: int, num_heads: int, d_mlp: int, layer_norm: bool, num_classes: int,
                            init_scale: float) -> None:
        self.block = Block(d_model, num_heads, d_mlp, layer_norm)
        self.norm_final = nn.LayerNorm(d_model) if layer_norm else nn.Identity()
        self.head = nn.Linear(d_model, num_classes)
        scale_parameters([self.block.mlp_in, self.block.mlp_out, self.head], init_scale)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def first_layer(self, x: torch.Tensor) -> torch.Tensor:
        """Class-token residual after the attention sublayer (Part II's first-layer representation)."""
        return self.block.attention_last(self.tokens(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm_final(self.block.forward_last(self.tokens(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ViT(ClassTokenTransformer):
    """One-layer vision transformer (Part I, Appendix C.2): 4 × 4 patches, a class token and
    learned positions, one attention + MLP block, a linear head on the class token.

    The class token is placed *last*, so :meth:`Block.forward_last` computes exactly its
    bidirectional attention over all patches (the one output a one-layer ViT uses).
    ``init_scale`` multiplies the feed-forward (MLP) weights and the head only, as the authors did.
    """

    def __init__(self, in_channels: int, image_size: int, num_classes: int, d_model: int = 128,
                 num_heads: int = 4, d_mlp: int = 512, layer_norm: bool = False, init_scale: float = 1.0):
        super().__init__()
        if image_size % 4:
            raise ValueError(f"the ViT cuts images into 4 × 4 patches; image side {image_size} is not a multiple of 4.")
        self.patch = image_size // 4
        self.embed = nn.Linear(in_channels * self.patch ** 2, d_model)
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model))
        self.pos = nn.Parameter(torch.randn(17, d_model) / math.sqrt(d_model))
        self._add_block_and_head(d_model, num_heads, d_mlp, layer_norm, num_classes, init_scale)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) images → (B, 17, d_model): 16 patch embeddings then the class token, plus positions."""
        patches = x.unfold(2, self.patch, self.patch).unfold(3, self.patch, self.patch)  # B, C, 4, 4, p, p
        patches = patches.permute(0, 2, 3, 1, 4, 5).flatten(3).flatten(1, 2)  # B, 16, C·p·p
        embedded = torch.cat([self.embed(patches), self.cls.expand(x.shape[0], -1, -1)], dim=1)
        return embedded + self.pos


class TextTransformer(ClassTokenTransformer):
    """One-layer transformer for sentence classification (Part I, Appendix C: "the model configuration
    is the same as in the MNIST ViT experiment"): token embeddings plus learned positions, the ViT's
    attention + MLP :class:`Block`, a linear head on the class token.

    Inputs are the ``(B, n_ctx)`` ids of :func:`grokutils.data.encode`, whose last position is [CLS]:
    its embedding is the class token, placed last as in the :class:`ViT`, so :meth:`Block.forward_last`
    computes exactly its attention over every position. Padding is not masked: [PAD] is a learned token
    like the others. Every embedding row ([PAD] and [UNK] included) starts at random, N(0, 1) (PyTorch's
    default); positions as the ViT's. ``init_scale`` multiplies the feed-forward (MLP) weights and the
    head only, as for the ViT.
    """

    def __init__(self, vocab_size: int, n_ctx: int, num_classes: int, d_model: int = 128, num_heads: int = 4,
                 d_mlp: int = 512, layer_norm: bool = False, init_scale: float = 1.0):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Parameter(torch.randn(n_ctx, d_model) / math.sqrt(d_model))
        self._add_block_and_head(d_model, num_heads, d_mlp, layer_norm, num_classes, init_scale)

    def tokens(self, ids: torch.Tensor) -> torch.Tensor:
        """(B, n_ctx) token ids → (B, n_ctx, d_model) embeddings plus positions."""
        return self.embed(ids) + self.pos


def build(config: Config, input_shape: tuple[int, ...], num_classes: int,
          vocab_size: int | None = None) -> nn.Module:
    """The model a :class:`~grokutils.config.Config` asks for, initialised with ``config.seed``."""
    torch.manual_seed(config.seed)
    if config.model == "transformer":
        return Transformer(vocab_size, num_classes, input_shape[0], config.d_model, config.num_heads,
                           config.d_mlp, config.num_layers, config.layer_norm, config.init_scale, config.init)
    if config.model == "mlp" and config.is_algorithmic:
        return EmbedMLP(vocab_size, config.d_model, config.widths, num_classes, config.init_scale)
    if config.model in RESNETS:
        return RESNETS[config.model](input_shape[0], num_classes)
    if config.model == "text_transformer":
        return TextTransformer(vocab_size, input_shape[0], num_classes, config.d_model, config.num_heads,
                               config.d_mlp, config.layer_norm, config.init_scale)
    if config.model == "vit":
        return ViT(input_shape[0], input_shape[-1], num_classes, config.d_model, config.num_heads, config.d_mlp,
                   config.layer_norm, config.init_scale)
    if config.model == "mlp":
        return MLP(math.prod(input_shape), config.widths, num_classes, config.init_scale, config.activation)
    return CNN(input_shape[0], input_shape[-1], num_classes, init_scale=config.init_scale)
