"""What an exercise check returns, and the loop that every check of :mod:`grokutils.exercises.checks` runs.

The exercises of Parts I–IV (Sato & Sakamoto 2025; Tan & Huang 2023; Khanh et al. 2026; Han et al. 2025) ask
the reader to write a metric that the book uses. A check calls the reader's function on a list of :class:`Case`
objects, compares each answer with the library's value and returns a :class:`Verdict`; it never raises. A wrong
answer is diagnosed, in this order: an exception or ``NotImplementedError``, an input changed in place, a wrong
type or shape, NaN, a named constant factor (:attr:`Case.factors`), a value that a known mistake gives on the
same input (:attr:`Case.mistakes`), a wrong sign, a lost invariance (:attr:`Case.base`), and else the case's hint.
"""

from __future__ import annotations

import inspect
import math
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from grokutils.exercises import solutions
from grokutils.report import Markdown

PASSED, NOT_IMPLEMENTED, WRONG = "passed", "not implemented yet", "wrong"
#: The default tolerance of a comparison: |yours − reference| ≤ ATOL + RTOL · |reference|.
RTOL, ATOL = 1e-6, 1e-9
#: The tolerance of the cases whose inputs are float32.
RTOL_FLOAT32, ATOL_FLOAT32 = 1e-4, 1e-6
TOLERANCE = (f"|yours − reference| ≤ {ATOL:g} + {RTOL:g}·|reference|; {ATOL_FLOAT32:g} + {RTOL_FLOAT32:g}·|reference| "
             "for float32 inputs")


@dataclass(frozen=True)
class Case:
    """One input of a check (Parts I–IV): ``args`` go to the reader's function, ``expected`` is the library's
    value on them. ``factors`` are ``(factor, its name, likely cause)`` and ``mistakes`` ``(the value a known
    mistake gives here, the mistake)``; ``base`` names the case this one transforms and ``invariance`` says how
    (e.g. "scaling the features by 1000"), so that a change of the reader's own value is reported as a lost
    invariance. ``hint`` is said when the case fails for an unrecognised reason; ``probe(raw)`` checks more
    of a correct answer (a gradient) and returns a problem or None."""

    name: str
    args: tuple
    expected: object
    kwargs: dict = field(default_factory=dict)
    factors: tuple = ()
    mistakes: tuple = ()
    base: str | None = None
    invariance: str = ""
    hint: str = ""
    rtol: float = RTOL
    atol: float = ATOL
    probe: Callable | None = None


@dataclass
class Verdict:
    """The outcome of a check (Parts I–IV): ``status`` is "passed", "not implemented yet" or "wrong";
    ``summary`` says why in one sentence, ``details`` give the failing input, both values and the tolerance;
    ``inputs`` holds the failing case's arguments by name, to rerun it. ``recognised`` is False when a wrong
    value matched no known mistake. Renders as Markdown in a notebook; ``str()`` gives the same as text."""

    exercise: str
    status: str
    summary: str
    details: tuple = ()
    inputs: dict | None = None
    recognised: bool = True

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def __str__(self) -> str:
        return "\n".join([f"{self.exercise}: {self.status} — {self.summary}", *(f"  - {d}" for d in self.details)])

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        icon = {PASSED: "✅", NOT_IMPLEMENTED: "✏️"}.get(self.status, "❌")
        lines = [f"{icon} **`{self.exercise}`: {self.status}.** {_escape(self.summary)}"]
        lines += [f"- {_escape(d)}" for d in self.details]
        return "\n".join(lines[:1] + ([""] if self.details else []) + lines[1:])


def _escape(text: str) -> str:
    """Markdown-escape ``_ * < |`` outside `code spans`, so that Σ_W or a < b stay as written."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):
        for char in "\\_*<|":
            parts[i] = parts[i].replace(char, "\\" + char)
    return "`".join(parts)


def show_solution(name: str) -> Markdown:
    """The source of the reference solution ``name`` (:mod:`grokutils.exercises.solutions`, Parts I–IV),
    folded in a ``<details>`` block; ``print()`` of it gives the plain source."""
    function = getattr(solutions, name, None)
    if not callable(function) or name.startswith("_"):
        known = sorted(n for n, f in vars(solutions).items() if inspect.isfunction(f) and not n.startswith("_"))
        return Markdown(f"There is no solution called `{name}`; the solutions are {', '.join(known)}.")
    source = inspect.getsource(function).rstrip()
    return _Source(f"<details>\n<summary>Solution: <code>{name}</code></summary>\n\n```python\n{source}\n```\n\n"
                   "</details>", source)


class _Source(Markdown):
    """Markdown that prints as plain source."""

    def __new__(cls, markdown: str, source: str):
        self = super().__new__(cls, markdown)
        self.source = source
        return self

    def __str__(self) -> str:
        return self.source


# ------------------------------------------------------------------------------------------ values


def fmt(value) -> str:
    """A value as the verdict shows it: floats to 10 significant digits."""
    if isinstance(value, float):
        return repr(value) if not math.isfinite(value) else f"{value:.10g}"
    return repr(value)


def describe(value) -> str:
    """An input in words: a small tensor in full, a large one by dtype and shape, a model by its layers."""
    if isinstance(value, torch.Tensor):
        if value.numel() <= 40:
            data = value.detach().tolist()
            shown = _rounded(data)
            return f"torch.tensor({shown}, dtype={value.dtype})".replace("torch.torch.", "torch.")
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    if isinstance(value, np.ndarray):
        return f"numpy.array({_rounded(value.tolist()) if value.size <= 40 else '…'}), shape {value.shape}"
    if isinstance(value, torch.nn.Module):
        return " ".join(str(value).split())
    if isinstance(value, torch.Generator):
        return "a torch.Generator (a fresh copy in the same state at every call)"
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + " …"


def _rounded(data):
    if isinstance(data, list):
        return "[" + ", ".join(_rounded(x) for x in data) + "]"
    return f"{data:.4g}" if isinstance(data, float) else repr(data)


def as_number(raw) -> tuple[float | None, str | None]:
    """(the answer as a float, None), or (None, what is wrong with its type or shape)."""
    if raw is None:
        return None, "returned None: did you forget the `return`?"
    if isinstance(raw, bool) or not isinstance(raw, (int, float, np.number, np.ndarray, torch.Tensor)):
        return None, f"returned a {type(raw).__name__} ({fmt(raw)}); return one number (a float or a 0-d tensor)."
    if isinstance(raw, (np.ndarray, torch.Tensor)):
        if math.prod(raw.shape) != 1:
            return None, (f"returned an array of shape {tuple(raw.shape)}, not one number: did you forget to sum "
                          "or average over an axis?")
        if raw.dtype in (torch.bool, np.bool_) or (raw.is_complex() if isinstance(raw, torch.Tensor)
                                                   else np.iscomplexobj(raw)):
            return None, f"returned a {raw.dtype} array; return a real number."
        return float(raw.detach().item() if isinstance(raw, torch.Tensor) else raw.item()), None
    return float(raw), None


def same(a, b, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """|a − b| ≤ atol + rtol·|b| for numbers (equal infinities agree, NaN never does); ``==`` otherwise."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if math.isnan(a) or math.isnan(b):
            return False
        if math.isinf(a) or math.isinf(b):
            return a == b
        return abs(a - b) <= atol + rtol * abs(b)
    return a == b


def attempt(function, *args):
    """``function(*args)`` as a float, or None if it fails: the value of a known mistake on a case."""
    try:
        value = function(*args)
        return None if value is None else float(value)
    except Exception:  # a mistake's formula that does not apply to this input names nothing
        return None


def guarded(build):
    """``build(*args)``, or () when a mistake's formula does not apply (a division by zero on a degenerate case)."""
    def mistakes(*args):
        try:
            return build(*args)
        except (ZeroDivisionError, RuntimeError, ValueError):
            return ()
    return mistakes


def _copy(value):
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return list(value)
    if isinstance(value, torch.Generator):
        fresh = torch.Generator(device=value.device)
        fresh.set_state(value.get_state())
        return fresh
    return value


def _changed(original, passed) -> bool:
    if isinstance(original, torch.Tensor):
        return original.shape != passed.shape or not torch.equal(original, passed)
    if isinstance(original, np.ndarray):
        return original.shape != passed.shape or not np.array_equal(original, passed)
    if isinstance(original, list):
        return original != passed
    return False


# ------------------------------------------------------------------------------------------ the loop


def not_implemented(exercise: str) -> Verdict:
    return Verdict(exercise, NOT_IMPLEMENTED, (
        f'`{exercise}` still raises NotImplementedError("your code here"). Write its body in the exercise cell, '
        "run that cell and then this one (or set `solutions = True` in the parameters cell to check the "
        "reference solution)."))


def _where(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    line = frames[-1].line if frames else ""
    return f" (at `{line.strip()}`)" if line else ""


def _diagnose(case: Case, value, results: dict, sign_hint: str, nan_hint: str, compare) -> tuple[str, bool]:
    """(the likely cause of a wrong ``value`` on ``case``, whether a known mistake explains it)."""
    expected = case.expected

    def close(a, b) -> bool:
        return compare(a, b, case.rtol, case.atol)

    numeric = isinstance(value, float) and isinstance(expected, (int, float))
    if numeric and (math.isnan(value) or math.isinf(value) and math.isfinite(expected)):
        return f"returned {'NaN' if math.isnan(value) else value}. {case.hint or nan_hint}".strip(), True
    if numeric and expected != 0 and math.isfinite(expected):
        for factor, name, cause in case.factors:
            if close(value, factor * expected):
                return f"{name} times the reference ({factor:.6g} here): {cause}", True
    for mistake, cause in case.mistakes:
        if close(value, mistake):
            return cause, True
    if numeric and expected != 0 and close(value, -expected):
        return f"wrong sign: your value is minus the reference. {sign_hint}", True
    if case.base in results and results[case.base][0] is not None:
        base_value, base_expected = results[case.base]
        if not close(value, base_value):
            ratio = f" (ratio {value / base_value:.6g})" if numeric and base_value not in (0, None) else ""
            return (f"not invariant to {case.invariance}: your function gives {fmt(base_value)} on the input "
                    f"without it and {fmt(value)} with it{ratio}; the reference gives {fmt(base_expected)} on "
                    f"both. {case.hint}").strip(), True
    ratio = f" (ratio yours / reference = {value / expected:.6g})" if numeric and expected != 0 \
        and math.isfinite(expected) and math.isfinite(value) else ""
    return f"your value differs from the reference{ratio}. {case.hint}".strip(), False


def run(exercise: str, fn, cases: list[Case], argnames: tuple, reference: str, *, convert=as_number,
        compare=same, tolerance: str | None = None, sign_hint: str = "", nan_hint: str = "") -> Verdict:
    """Call ``fn`` on every case and return the :class:`Verdict` (never raises; Parts I–IV).

    ``reference`` names the library function the expected values come from; ``convert(raw)`` returns the
    answer in comparable form and a problem or None; ``compare(a, b, rtol, atol)`` decides agreement, and
    ``tolerance`` says how in words. ``sign_hint`` follows a "wrong sign" and ``nan_hint`` a NaN (or an infinity
    where the reference is finite) on a case without a hint of its own."""
    if not callable(fn):
        return Verdict(exercise, WRONG, f"`{exercise}` is not a function: it is {fmt(fn)} (type {type(fn).__name__}).")
    results: dict[str, tuple] = {}
    failures = []
    for case in cases:
        args, kwargs = tuple(_copy(a) for a in case.args), {k: _copy(v) for k, v in case.kwargs.items()}
        try:
            raw = fn(*args, **kwargs)
        except NotImplementedError:
            return not_implemented(exercise)
        except Exception as error:  # the reader's code may fail in any way; the verdict says how
            failures.append((case, None, f"raised {type(error).__name__}: {error}{_where(error)}. {case.hint}".strip(),
                             True))
            continue
        moved = [argnames[i] if i < len(argnames) else str(i) for i, (a, b) in enumerate(zip(case.args, args))
                 if _changed(a, b)]
        moved += [k for k in case.kwargs if _changed(case.kwargs[k], kwargs[k])]
        if moved:
            failures.append((case, None, f"changed its input {', '.join(f'`{m}`' for m in moved)} in place (an "
                                         "in-place operation such as `-=` or `.sub_()`); work on a copy.", True))
            continue
        value, problem = convert(raw)
        if problem:
            failures.append((case, None, problem, True))
            continue
        results[case.name] = (value, case.expected)
        if not compare(value, case.expected, case.rtol, case.atol):
            cause, known = _diagnose(case, value, results, sign_hint, nan_hint, compare)
            failures.append((case, value, cause, known))
            continue
        problem = case.probe(raw) if case.probe is not None else None
        if problem:
            failures.append((case, value, problem, True))
    if tolerance is None:
        tolerance = TOLERANCE if any(c.rtol == RTOL_FLOAT32 for c in cases) else TOLERANCE.split(";")[0]
    if not failures:
        return Verdict(exercise, PASSED, f"all {len(cases)} cases agree with `{reference}` ({tolerance}).",
                       (f"cases: {'; '.join(c.name for c in cases)}.",))
    case, value, cause, known = failures[0]
    names = argnames + tuple(case.kwargs)
    inputs = dict(zip(names, case.args + tuple(case.kwargs.values())))
    details = [f"failing case: {case.name}."]
    details += [f"`{name}` = {describe(arg)}" for name, arg in inputs.items()]
    details.append(f"reference (`{reference}`): {fmt(case.expected)}; yours: "
                   f"{fmt(value) if value is not None else '—'} (tolerance: {tolerance}).")
    if len(failures) > 1:
        details.append(f"{len(failures) - 1} more case(s) fail: " + "; ".join(f[0].name for f in failures[1:]) + ".")
    details.append("The failing inputs are in `.inputs` of this result (a dict by argument name).")
    return Verdict(exercise, WRONG, cause, tuple(details), inputs, known)
