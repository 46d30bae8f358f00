"""ARENA-style exercises of Parts I–IV: the reader writes a metric, a check compares it with the library's.

Each exercise notebook (``notebooks/ex_p*.ipynb``) has a stub per exercise that the reader edits, a check
(``gu.exercises.check_rnc1(rnc1)``) that returns a :class:`~grokutils.exercises.verdict.Verdict` saying "passed",
"not implemented yet" or what is wrong, and the reference solution (:mod:`grokutils.exercises.solutions`, shown by
:func:`show_solution`). Checks never raise; their inputs and the mistakes they recognise are in
:mod:`grokutils.exercises.cases` and :mod:`grokutils.exercises.robustness_cases`.

* Part I (Sato & Sakamoto 2025): :func:`check_rnc1`, :func:`check_nc1`.
* Part II (Tan & Huang 2023): :func:`check_commutativity_penalty`, :func:`check_perturbation_error`.
* Part III (Khanh et al. 2026): :func:`check_spectral_entropy`, :func:`check_collapse_onset`.
* Part IV (Han et al. 2025): :func:`check_relative_flatness`, :func:`check_ncc`, :func:`check_ncc_mean`.
"""

from grokutils.exercises import solutions
from grokutils.exercises.checks import (check_collapse_onset, check_commutativity_penalty, check_nc1, check_ncc,
                                        check_ncc_mean, check_perturbation_error, check_relative_flatness, check_rnc1,
                                        check_spectral_entropy)
from grokutils.exercises.verdict import Verdict, show_solution

#: The exercises: the name of each function the reader writes, by notebook.
EXERCISES = {
    "ex_p1_collapse": ("rnc1", "nc1"),
    "ex_p2_robustness": ("commutativity_penalty", "perturbation_error"),
    "ex_p3_spectral": ("spectral_entropy", "collapse_onset"),
    "ex_p4_flatness": ("relative_flatness", "ncc", "ncc_mean"),
}


def check_solutions_switch(solutions: object) -> bool:
    """The notebooks' ``solutions`` parameter, refused unless True or False (``papermill -p solutions True``)."""
    if not isinstance(solutions, bool):
        raise ValueError(f"parameter solutions={solutions!r} is a {type(solutions).__name__}; expected True (use the "
                         "reference solutions) or False (your own code).")
    return solutions


__all__ = ["EXERCISES", "Verdict", "check_collapse_onset", "check_commutativity_penalty", "check_nc1", "check_ncc",
           "check_ncc_mean", "check_perturbation_error", "check_relative_flatness", "check_rnc1",
           "check_solutions_switch", "check_spectral_entropy", "show_solution", "solutions"]
