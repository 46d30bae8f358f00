"""The exercises of Parts I–IV: each check passes the reference solution, says "not implemented yet" for the stub,
names the mistake of a deliberately wrong implementation, never raises; and each exercise notebook runs with
papermill both with the reference solutions (every check passes) and with the untouched stubs (every check says
"not implemented yet", no traceback)."""

from __future__ import annotations

import ast
import inspect
import json
import math
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import grokutils as gu
import grokutils.exercises  # noqa: F401  (gu.exercises)
from grokutils.exercises import solutions as S

EX = gu.exercises
ROOT = Path(__file__).resolve().parents[1]
NAMES = [name for names in EX.EXERCISES.values() for name in names]


def check(name: str):
    return getattr(EX, f"check_{name}")


def stub(*args, **kwargs):
    raise NotImplementedError("your code here")


@pytest.mark.parametrize("name", NAMES)
def test_every_check_passes_its_reference_solution(name):
    verdict = check(name)(getattr(S, name))
    assert verdict.passed, str(verdict)
    assert str(verdict).startswith(f"{name}: passed") and "✅" in verdict._repr_markdown_()


@pytest.mark.parametrize("name", NAMES)
def test_the_stub_is_not_implemented_yet(name):
    verdict = check(name)(stub)
    assert verdict.status == "not implemented yet" and 'NotImplementedError("your code here")' in str(verdict)
    assert "solutions = True" in verdict._repr_markdown_()


# ------------------------------------------------------------------------------------------ wrong implementations


def _within(h, y):
    h = h.double()
    return sum(float(((h[y == c] - h[y == c].mean(0)) ** 2).sum()) for c in y.unique()) / len(h)


def _s(h):
    return float(h.double().norm(dim=1).mean())


def rnc1_unscaled(h, y):
    return _within(h, y)


def rnc1_nan(h, y):
    h = h.double()
    within = sum(((h[y == c] - h[y == c].mean(0)) ** 2).sum() for c in y.unique()) / len(h)
    return float(within / h.norm(dim=1).mean() ** 2)


def rnc1_range(h, y):
    h = h.double()
    within = sum(float(((h[y == c] - h[y == c].mean(0)) ** 2).sum()) for c in range(len(y.unique())))
    return within / len(h) / _s(h) ** 2 if within else 0.0


def rnc1_summed(h, y):
    return _within(h, y) * len(h) / _s(h) ** 2 if _s(h) else 0.0


def rnc1_unbiased(h, y):
    return sum(len(h[y == c]) / len(h) * float(h[y == c].double().var(0).sum()) for c in y.unique()) / _s(h) ** 2 \
        if _s(h) else 0.0


def rnc1_in_place(h, y):
    h += 1.0
    return S.rnc1(h - 1.0, y)


def nc1_terms(h, y, centre):
    h = h.double()
    within = _within(h, y)
    between = sum(len(h[y == c]) / len(h) * float(((h[y == c].mean(0) - centre(h, y)) ** 2).sum()) for c in y.unique())
    return within, between


def nc1_equal_weights(h, y):
    h = h.double()
    return _within(h, y) / float(torch.stack([((h[y == c].mean(0) - h.mean(0)) ** 2).sum() for c in y.unique()]).mean())


def nc1_class_means(h, y):
    w, b = nc1_terms(h, y, lambda h, y: torch.stack([h[y == c].mean(0) for c in y.unique()]).mean(0))
    return 0.0 if w == 0 else (math.inf if b == 0 else w / b)


def nc1_no_inf(h, y):
    w, b = nc1_terms(h, y, lambda h, y: h.mean(0))
    return 0.0 if w == 0 else w / b


def nc1_no_zero(h, y):
    w, b = nc1_terms(h, y, lambda h, y: h.mean(0))
    return float(torch.tensor(w) / torch.tensor(b))


def pe(model, x, sigma, generator, noise=None, reduce=lambda d: (d**2).sum(1).mean()):
    with torch.no_grad():
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype) if noise is None else noise
        return float(reduce((model(x + sigma * noise) - model(x)).double().flatten(1)))


def pe_row_by_row(model, x, sigma, generator=None):
    rows = torch.stack([torch.randn(x.shape[1:], generator=generator, dtype=x.dtype) for _ in range(len(x))])
    return pe(model, x, sigma, generator, noise=rows)


def pe_in_place(model, x, sigma, generator=None):
    with torch.no_grad():
        clean = model(x).double()
        x += sigma * torch.randn(x.shape, generator=generator, dtype=x.dtype)
        return float(((model(x).double() - clean).flatten(1) ** 2).sum(1).mean())


def entropy(z, centre=True, cut=0.0, normalise=True, d1=True):
    z = z.double() - z.double().mean(0) if centre else z.double()
    lam = torch.linalg.eigvalsh(z.T @ z / len(z)).clamp(min=0)
    lam = torch.where(lam > cut, lam, 0.0)
    p = lam / lam.sum()
    if d1 and z.shape[1] == 1:
        return 1.0
    value = -(p * torch.log(p + 1e-12)).sum()
    return float(value / torch.log(torch.tensor(float(z.shape[1])))) if normalise else float(value)


def entropy_naive(z):
    z = z.double() - z.double().mean(0)
    p = torch.linalg.eigvalsh(z.T @ z / len(z))
    p = p / p.sum()
    return float(-(p * torch.log(p)).sum() / math.log(z.shape[1]))


def onset(span=None, strict=True, fall=True, give="step", wrap=False, none=None):
    def collapse_onset(steps, h, delta=0.02, window=5):
        k = window - 1 if span is None else span(window)
        for i in range(0 if wrap else k, len(h)):
            drop = h[i - k] - h[i] if fall else h[i] - h[i - k]
            if drop > delta or (not strict and drop == delta):
                return {"step": int(steps[i]), "index": i, "start": int(steps[i - k])}[give]
        return none
    return collapse_onset


def kappa(h, y, w, b=None, sign=1.0, norms=True, softmax=True, use_bias=True, what="kappa"):
    h, w = h.double(), w.double()
    logits = h @ w.T + (b.double() if b is not None and use_bias else 0.0)
    p = logits.softmax(1) if softmax else logits.exp() / logits.exp().sum(1, keepdim=True)
    weights = (h**2).sum(1) if norms else torch.ones(len(h), dtype=torch.float64)
    t = sign * ((torch.diag_embed(p) - p[:, :, None] * p[:, None, :]) * weights[:, None, None]).mean(0)
    return float(t.trace() if what == "trace" else (w @ w.T * t).sum())


def ncc_form(mean_v, average, diagonal=False):
    def ncc(h, y):
        h, classes = h.double(), y.unique()
        mu = [h[y == c].mean(0) for c in classes]
        v = [float(((h[y == c] - m) ** 2).sum()) / (len(h[y == c]) if mean_v else 1) for c, m in zip(classes, mu)]
        terms = [(v[a] + v[b]) / (2 * float(((mu[a] - mu[b]) ** 2).sum())) if a != b or not diagonal else math.inf
                 for a in range(len(mu)) for b in range(len(mu)) if a != b or diagonal]
        return sum(terms) / len(terms) if average else sum(terms)
    return ncc


WRONG = [
    ("rnc1", rnc1_unscaled, "you returned tr Σ_W without dividing by s²"),
    ("rnc1", rnc1_nan, "returned NaN. Every feature is 0, so s = 0"),
    ("rnc1", lambda h, y: torch.stack([((h[y == c] - h[y == c].mean(0)) ** 2).sum() for c in y.unique()]),
     "returned an array of shape (3,), not one number"),
    ("rnc1", rnc1_range, "The classes are the distinct values in `labels`"),
    ("rnc1", rnc1_summed, "N times the reference (30 here): did you sum"),
    ("rnc1", rnc1_unbiased, "unbiased class variances"),
    ("rnc1", rnc1_in_place, "changed its input `features` in place"),
    ("rnc1", lambda h, y: None, "returned None: did you forget the `return`?"),
    ("rnc1", lambda h, y: "0.1", "returned a str"),
    ("rnc1", 3, "`rnc1` is not a function"),
    ("rnc1", lambda h, y: {}[1], "raised KeyError"),
    ("nc1", lambda h, y: 1 / S.nc1(h, y), "you returned tr Σ_B / tr Σ_W"),
    ("nc1", nc1_equal_weights, "you weighted the classes equally in tr Σ_B"),
    ("nc1", nc1_class_means, "μ_G as the mean of the class means"),
    ("nc1", nc1_no_inf, "raised ZeroDivisionError"),
    ("nc1", nc1_no_zero, "returned NaN. Every feature is the same"),
    ("commutativity_penalty", lambda m, t: ((m(t) - m(t[:, [1, 0, 2]])) ** 2).sum(), "N·C times the reference (125"),
    ("commutativity_penalty", lambda m, t: S.commutativity_penalty(m, t).item(), "returned a float, not a tensor"),
    ("commutativity_penalty", lambda m, t: ((m(t) - m(t[:, [1, 0, 2]]).detach()) ** 2).mean(),
     "its gradient with respect to"),
    ("commutativity_penalty", torch.no_grad()(S.commutativity_penalty), "carries no gradient"),
    ("commutativity_penalty", lambda m, t: F.mse_loss(m(t), m(t.flip(1))), "you reversed the whole row"),
    ("commutativity_penalty", lambda m, t: (m(t) - m(t[:, [1, 0, 2]])).norm(dim=1).mean(), "the mean distance"),
    ("commutativity_penalty", lambda m, t: ((m(t) - m(t[:, [1, 0, 2]])) ** 2).mean(1), "returned a tensor of shape"),
    ("perturbation_error", lambda m, x, s, generator=None: pe(m, x, s, generator,
                                                              reduce=lambda d: d.norm(dim=1).mean()), "not its square"),
    ("perturbation_error", lambda m, x, s, generator=None: pe(m, x, s, None), "your function ignores `generator`"),
    ("perturbation_error", lambda m, x, s, generator=None: pe(m, x, s, generator, reduce=lambda d: (d**2).mean()),
     "1/C times the reference"),
    ("perturbation_error", lambda m, x, s, generator=None: pe(m, x, s**2, generator), "scaled the noise by σ²"),
    ("perturbation_error", pe_in_place, "changed its input `x` in place"),
    ("spectral_entropy", lambda z: entropy(z, normalise=False), "log d times the reference (1.79176 here)"),
    ("spectral_entropy", lambda z: entropy(z, centre=False), "you did not centre the features"),
    ("spectral_entropy", entropy_naive, "returned NaN. The covariance has zero eigenvalues"),
    ("spectral_entropy", lambda z: -entropy(z), "wrong sign"),
    ("spectral_entropy", lambda z: entropy(z, cut=1e-5), "not invariant to scaling the features"),
    ("spectral_entropy", lambda z: entropy(z, d1=False), "For d = 1, log d = 0"),
    ("collapse_onset", onset(span=lambda w: w), "your window spans window + 1 evaluations"),
    ("collapse_onset", onset(span=lambda w: w - 2), "your window spans window − 1 evaluations"),
    ("collapse_onset", onset(give="index"), "you returned the evaluation index i"),
    ("collapse_onset", onset(give="start"), "you returned the window's first step"),
    ("collapse_onset", onset(strict=False), "the rule is strict"),
    ("collapse_onset", onset(fall=False), "wrong sign: you detected a rise"),
    ("collapse_onset", onset(none=-1), "return None where there is no onset, not −1"),
    ("collapse_onset", onset(wrap=True), "a negative index wraps around"),
    ("collapse_onset", lambda steps, h, delta=0.02, window=5: S.collapse_onset(steps, h), "you ignored the `delta`"),
    ("relative_flatness", lambda h, y, w, b=None: kappa(h, y, w, b, sign=-1.0), "Hessian of cross-entropy in the "
                                                                                 "logits is diag(p) − p pᵀ"),
    ("relative_flatness", lambda h, y, w, b=None: kappa(h, y, w, b, softmax=False), "returned NaN. exp of a logit"),
    ("relative_flatness", lambda h, y, w, b=None: kappa(h, y, w, b, norms=False), "you left out ‖h_i‖²"),
    ("relative_flatness", lambda h, y, w, b=None: kappa(h, y, w, b, use_bias=False), "you ignored the bias"),
    ("relative_flatness", lambda h, y, w, b=None: kappa(h, y, w, b, what="trace"), "you returned Tr H"),
    ("relative_flatness", lambda h, y, w, b=None: len(h) * kappa(h, y, w, b), "N times the reference (40 here)"),
    ("ncc", ncc_form(mean_v=True, average=False), "1/n_c times the reference"),
    ("ncc", ncc_form(mean_v=True, average=True), "that is the authors' averaged form (`ncc_mean`)"),
    ("ncc", lambda h, y: S.ncc(h, y) / 2, "½ times the reference"),
    ("ncc", ncc_form(mean_v=False, average=False, diagonal=True), "Did you include the pairs c = c'"),
    ("ncc_mean", ncc_form(mean_v=True, average=False), "K(K − 1) times the reference (6 here): did you sum over the "
                                                       "ordered class pairs instead of averaging over them?"),
    ("ncc_mean", ncc_form(mean_v=False, average=False), "that is the paper's sum form"),
    ("ncc_mean", ncc_form(mean_v=False, average=True), "n_c times the reference (10 here)"),
]


@pytest.mark.parametrize("name, wrong, message", WRONG, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(WRONG)])
def test_a_wrong_implementation_gets_its_specific_message(name, wrong, message):
    verdict = check(name)(wrong)
    assert verdict.status == "wrong" and message in verdict.summary, str(verdict)
    if callable(wrong):
        assert "failing case:" in str(verdict) and "reference (`" in str(verdict) and verdict.inputs
        assert "❌" in verdict._repr_markdown_() and "Σ\\_W" not in str(verdict)


def test_a_failing_check_shows_the_input_both_values_and_keeps_the_inputs():
    verdict = EX.check_ncc_mean(ncc_form(mean_v=True, average=False))
    text = str(verdict)
    assert "failing case: balanced: 3 classes × 10 samples, d = 4." in text
    assert "`labels` = torch.tensor([" in text and "yours: " in text and "tolerance:" in text
    assert set(verdict.inputs) == {"features", "labels"} and verdict.inputs["features"].shape == (30, 4)
    features, labels = verdict.inputs["features"], verdict.inputs["labels"]
    assert math.isclose(ncc_form(True, False)(features, labels), 6 * gu.metrics.collapse.ncc_mean(features, labels))
    equal = EX.check_nc1(nc1_equal_weights)
    assert "Σ\\_c" in equal._repr_markdown_() and "Σ_c" in str(equal)  # Markdown-escaped, plain in text


def test_noise_drawn_another_way_passes_in_expectation_only():
    verdict = EX.check_perturbation_error(pe_row_by_row)
    assert verdict.passed and "agree in expectation" in verdict.summary and "not draw for draw" in verdict.summary
    wrong = EX.check_perturbation_error(lambda m, x, s, generator=None: pe(
        m, x, s, generator, noise=torch.stack([torch.randn(x.shape[1:], generator=generator, dtype=x.dtype)
                                                for _ in range(len(x))]), reduce=lambda d: (d**2).mean()))
    assert not wrong.passed and "1/C times the reference" in wrong.summary and "compared in expectation" in str(wrong)


def test_show_solution_folds_the_source_and_prints_it_plain():
    for name in NAMES:
        shown = EX.show_solution(name)
        source = inspect.getsource(getattr(S, name)).rstrip()
        assert shown.startswith("<details>") and source in shown and str(shown) == source
    assert "no solution called `nope`" in EX.show_solution("nope")


def test_the_solutions_switch_refuses_anything_but_a_bool():
    assert EX.check_solutions_switch(True) is True
    with pytest.raises(ValueError, match="solutions='yes' is a str"):
        EX.check_solutions_switch("yes")


def test_the_solutions_are_written_independently_of_the_library():
    tree = ast.parse(inspect.getsource(S))
    imported = {alias.name if isinstance(node, ast.Import) else node.module
                for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}
    assert imported <= {"__future__", "math", "torch"}, imported


# ------------------------------------------------------------------------------------------ the notebooks


def code(cell) -> str:
    return "".join(cell["source"])


@pytest.mark.parametrize("notebook", sorted(EX.EXERCISES))
def test_each_exercise_has_a_stub_a_switch_a_check_and_a_folded_solution(notebook):
    cells = json.loads((ROOT / "notebooks" / f"{notebook}.ipynb").read_text())["cells"]
    sources = [code(c) for c in cells if c["cell_type"] == "code"]
    parameters = next(code(c) for c in cells if "parameters" in c["metadata"].get("tags", []))
    assert [line.split(" =")[0] for line in parameters.splitlines()] == ["profile", "progress", "solutions"]
    hints = [code(c) for c in cells if c["cell_type"] == "markdown" and "<summary>Hint</summary>" in code(c)]
    assert len(hints) == len(EX.EXERCISES[notebook])
    for name in EX.EXERCISES[notebook]:
        assert any(f"def {name}(" in s and 'raise NotImplementedError("your code here")' in s for s in sources)
        assert f"if solutions:\n    {name} = gu.exercises.solutions.{name}" in "\n".join(sources)
        assert f"gu.exercises.check_{name}({name})" in sources
        (solution,) = [c for c in cells if code(c) == f'gu.exercises.show_solution("{name}")']
        assert solution["metadata"]["tags"] == ["hide-input"]
    assert sources[-1] == "page.finish()"


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> dict:
    """{(notebook, solutions): the executed notebook} for every exercise notebook, smoke profile."""
    papermill = pytest.importorskip("papermill")
    out = tmp_path_factory.mktemp("exercises")

    def execute(job):
        notebook, solutions = job
        path = out / f"{notebook}-{solutions}.ipynb"
        papermill.execute_notebook(str(ROOT / "notebooks" / f"{notebook}.ipynb"), str(path), progress_bar=False,
                                   parameters={"profile": "smoke", "progress": False, "solutions": solutions},
                                   cwd=str(ROOT / "notebooks"), kernel_name="python3")
        return job, json.loads(path.read_text())

    jobs = [(notebook, solutions) for notebook in sorted(EX.EXERCISES) for solutions in (True, False)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(execute, jobs))


def check_outputs(notebook: dict) -> dict[str, str]:
    """{exercise: the text its check cell displayed}."""
    shown = {}
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code" and code(cell).startswith("gu.exercises.check_"):
            (output,) = cell["outputs"]
            shown[code(cell).split("(")[1].rstrip(")")] = "".join(output["data"]["text/plain"])
            assert "text/markdown" in output["data"]
    return shown


def texts(notebook: dict) -> str:
    return "\n".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                     for c in notebook["cells"] for o in c.get("outputs", []))


@pytest.mark.slow
@pytest.mark.parametrize("notebook", sorted(EX.EXERCISES))
def test_with_the_reference_solutions_every_check_passes(notebook, executed):
    result = executed[(notebook, True)]
    shown = check_outputs(result)
    assert sorted(shown) == sorted(EX.EXERCISES[notebook])
    for name, text in shown.items():
        assert text.startswith(f"{name}: passed — all "), text
    assert "this notebook ran in" in texts(result)


@pytest.mark.slow
@pytest.mark.parametrize("notebook", sorted(EX.EXERCISES))
def test_with_the_stubs_the_notebook_runs_and_every_check_says_not_implemented(notebook, executed):
    result = executed[(notebook, False)]
    assert not [o for c in result["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert "Traceback" not in texts(result)
    shown = check_outputs(result)
    assert sorted(shown) == sorted(EX.EXERCISES[notebook])
    for name, text in shown.items():
        assert text.startswith(f"{name}: not implemented yet — ") and "NotImplementedError" in text, text
    assert "this notebook ran in" in texts(result)
