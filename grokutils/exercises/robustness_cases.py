"""The inputs of Part II's exercise checks (Tan & Huang 2023): tiny models of token pairs and of images, and the
values that known mistakes in the abelian penalty and the perturbation error give on them.

Every model and input is built from a seeded ``torch.Generator``; the global random state is never touched.
"""

from __future__ import annotations

import math

import torch

from grokutils.exercises.cases import generator
from grokutils.exercises.verdict import Case, guarded
from grokutils.metrics import robustness

class PairModel(torch.nn.Module):
    """A tiny float64 model of token rows (a, b, =) for Part II's checks: an embedding, then tanh of a linear map
    of the three embeddings concatenated, or of their sum when ``symmetric`` (then f(a, b) = f(b, a) exactly)."""

    def __init__(self, seed: int, vocab: int = 6, width: int = 4, classes: int = 5, symmetric: bool = False):
        super().__init__()
        g, fan_in = generator(seed), width if symmetric else 3 * width
        self.symmetric = symmetric
        self.embed = torch.nn.Parameter(torch.randn(vocab, width, generator=g, dtype=torch.float64))
        self.hidden = torch.nn.Parameter(torch.randn(fan_in, 8, generator=g, dtype=torch.float64) / fan_in**0.5)
        self.out = torch.nn.Parameter(torch.randn(8, classes, generator=g, dtype=torch.float64) / 8**0.5)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        e = self.embed[tokens]
        return torch.tanh((e.sum(1) if self.symmetric else e.flatten(1)) @ self.hidden) @ self.out


def penalty_inputs() -> list[tuple]:
    """(name, model, tokens, base case, invariance, hint, check the gradient) of the abelian penalty's check."""
    pairs = torch.tensor([(a, b, 5) for a in range(5) for b in range(5)])
    some = pairs[torch.randperm(25, generator=generator(7))[:12]]
    first = "all 25 pairs (a, b, =) of p = 5, a tiny model"
    model, other = PairModel(0), PairModel(1)
    perm = torch.randperm(25, generator=generator(8))
    return [
        (first, model, pairs, None, "", "", True),
        ("12 random pairs, another model", other, some, None, "", "", False),
        ("a single pair (3, 1, =)", other, pairs[16:17], None, "", "", False),
        (f"{first}, rows permuted", model, pairs[perm], first, "the order of the pairs", "", False),
        (f"{first}, each given as (b, a, =)", model, pairs[:, [1, 0, 2]], first, "swapping a and b in the input",
         "The penalty compares f(a, b) with f(b, a), so it is the same for the swapped rows.", False),
        ("a model symmetric in a and b", PairModel(2, symmetric=True), pairs, None, "",
         "f(a, b) = f(b, a) for this model, so the penalty is exactly 0.", False),
    ]


def as_penalty(raw) -> tuple:
    """(the penalty as a float, None), or (None, what is wrong): it must be a one-element tensor."""
    if not isinstance(raw, torch.Tensor):
        return None, (f"returned a {type(raw).__name__}, not a tensor: return the tensor itself (no `.item()` or "
                      "`float()`), so that the regulariser can add it to the loss and backpropagate.")
    if raw.numel() != 1:
        return None, (f"returned a tensor of shape {tuple(raw.shape)}, not one number: the penalty is the mean over "
                      "pairs and classes.")
    return float(raw.detach().item()), None


def gradient_probe(model, tokens):
    """A probe that the reader's penalty carries the reference's gradient with respect to every parameter."""
    names, params = zip(*model.named_parameters())
    expected = torch.autograd.grad(robustness.commutativity_penalty(model, tokens), params)

    def probe(raw) -> str | None:
        if not raw.requires_grad:
            return ("your penalty carries no gradient (computed under torch.no_grad(), detached, or rebuilt with "
                    "torch.tensor): the regulariser adds it to the loss, so gradients must flow through f(a, b) and "
                    "f(b, a).")
        got = torch.autograd.grad(raw, params, allow_unused=True, retain_graph=True)
        for name, g, e in zip(names, got, expected):
            if g is None or not torch.allclose(g, e, rtol=1e-6, atol=1e-9):
                return (f"the value is right but its gradient with respect to `{name}` is not: did you detach one of "
                        "the two forward passes? Gradients must flow through both f(a, b) and f(b, a).")
        return None
    return probe


@guarded
def penalty_mistakes(model, tokens) -> tuple:
    with torch.no_grad():
        f = model(tokens)
        d = f - model(tokens[:, [1, 0, 2]])
        return (
            (float(d.norm(dim=1).mean()), "you took the mean distance ‖f(a, b) − f(b, a)‖ (Figure 7's logit "
                                          "distance), not the mean squared difference."),
            (float(d.abs().mean()), "you took the mean absolute difference; the penalty squares it."),
            (float(((f - model(tokens.flip(1))) ** 2).mean()), "you reversed the whole row (a, b, =) into (=, b, a); "
                                                               "swap only the first two columns."),
            (float(((f - model(tokens[:, [0, 2, 1]])) ** 2).mean()),
             "you swapped b and '=' (columns 1 and 2); swap a and b (columns 0 and 1)."),
            (float(((f.softmax(1) - model(tokens[:, [1, 0, 2]]).softmax(1)) ** 2).mean()),
             "you compared softmax probabilities; the penalty compares the logits."),
        )


def _mlp(seed: int, d: int, classes: int, image: bool = False, dtype=torch.float32) -> torch.nn.Module:
    g = generator(seed)
    layers = [torch.nn.Linear(d, 16), torch.nn.Tanh(), torch.nn.Linear(16, classes)]
    with torch.no_grad():
        for p in (p for layer in layers for p in layer.parameters()):
            p.copy_(torch.randn(p.shape, generator=g) / max(p.shape[-1], 1) ** 0.5)
    return torch.nn.Sequential(*([torch.nn.Flatten()] if image else []), *layers).to(dtype)


def _linear(seed: int, d: int, classes: int, dtype=torch.float32) -> torch.nn.Module:
    g, layer = generator(seed), torch.nn.Linear(d, classes)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(classes, d, generator=g))
        layer.bias.copy_(torch.randn(classes, generator=g))
    return layer.to(dtype)


def perturbation_inputs() -> list[tuple]:
    """(name, model, x, σ, seed of ε's generator, hint) of the perturbation error's check."""
    g = generator(9)
    return [
        ("an MLP, 64 inputs in R^8, σ = 0.1", _mlp(0, 8, 3), torch.randn(64, 8, generator=g), 0.1, 10, ""),
        ("a linear model f(x) = Wx + b, 50 inputs in R^6, σ = 0.5", _linear(1, 6, 4),
         torch.randn(50, 6, generator=g), 0.5, 11, ""),
        ("inputs shaped like images (40, 1, 4, 4), an MLP after a Flatten, σ = 0.2", _mlp(2, 16, 5, image=True),
         torch.randn(40, 1, 4, 4, generator=g), 0.2, 12, "ε has the shape of x: torch.randn(x.shape, ...)."),
        ("σ = 0 (an MLP, 64 inputs in R^8)", _mlp(0, 8, 3), torch.randn(64, 8, generator=g), 0.0, 13,
         "σ = 0 adds nothing: the perturbation error is exactly 0."),
        ("float64 inputs and model, σ = 0.1", _mlp(3, 8, 3, dtype=torch.float64),
         torch.randn(30, 8, generator=g, dtype=torch.float64), 0.1, 14, "Draw ε in x's dtype (dtype=x.dtype)."),
    ]


@guarded
def perturbation_mistakes(model, x, sigma, seed) -> tuple:
    noise = torch.randn(x.shape, generator=generator(seed), dtype=x.dtype)
    with torch.no_grad():
        clean = model(x).double().flatten(1)

        def squares(scale):
            return float(((model(x + scale * noise).double().flatten(1) - clean) ** 2).sum(1).mean())
        return (
            (float((model(x + sigma * noise).double().flatten(1) - clean).norm(dim=1).mean()),
             "you averaged ‖f(x + ε) − f(x)‖, not its square."),
            (squares(sigma**2), "you scaled the noise by σ²: ε = σ·randn has standard deviation σ, variance σ²."),
            (squares(sigma**0.5), "you scaled the noise by √σ: σ is the standard deviation of ε, not its variance."),
            (squares(1.0), "you ignored σ: ε = σ·torch.randn(x.shape, generator=generator, dtype=x.dtype)."),
        )


def expectation_case():
    """Part II's perturbation error on a linear model, compared with σ²‖W‖²_F within 5 standard errors."""
    n, sigma = 20_000, 0.3
    model = _linear(4, 8, 3, dtype=torch.float64)
    x = torch.randn(n, 8, generator=generator(15), dtype=torch.float64)
    eigenvalues = torch.linalg.eigvalsh(model.weight.detach().T @ model.weight.detach())
    expected = sigma**2 * float(eigenvalues.sum())
    se = sigma**2 * math.sqrt(2 * float((eigenvalues**2).sum()) / n)
    factors = ((1 / 3, "1/C", "you averaged over the C outputs too (F.mse_loss); sum the squares over the outputs."),
               (n, "N", "you summed over the N inputs; average over them."),
               (sigma**2, "σ²", "you scaled the noise by σ²: ε = σ·randn has variance σ²."),
               (1 / sigma**2, "1/σ²", "you ignored σ: ε = σ·randn."))
    case = Case(f"a linear model f(x) = Wx + b, {n:,} inputs in R^8, σ = {sigma}: compared in expectation with "
                "σ²‖W‖²_F", (model, x, sigma), expected, {"generator": generator(16)}, factors, rtol=0.0, atol=5 * se)
    return case, f"within 5 standard errors of σ²‖W‖²_F, ±{5 * se:.3g}"
