"""Every claims table and analysis table of Parts I and III, computed from the stored paper results.

``python tests/book_numbers.py --write`` records them in ``tests/data/book_numbers.json``;
``tests/test_book_numbers.py`` recomputes them and requires the same text, so a refactoring that
changes a number or a verdict the book prints fails. A change of a verdict *rule* rewrites the
file in the same commit, and the commit says why.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

GOLDEN = Path(__file__).with_name("data") / "book_numbers.json"


def _part1(gu) -> dict[str, str]:
    part1 = gu.part1
    groups = part1.load_sweep("paper", progress=False)
    concentration = part1.load_concentration("paper", progress=False)
    theory = part1.load_theory("paper", progress=False)
    architectures = part1.load_architectures("paper", progress=False)
    vits = part1.load_vit_sweep("paper", progress=False)
    claims = part1.chapter_claims(groups, concentration, theory, architectures, vits)
    return {
        "part1 claims": gu.claims.claims_table(claims),
        "part1 verdict summary": gu.claims.verdict_summary(claims),
        "part1 events": part1.events_table(groups),
        "part1 theory events": part1.events_table(theory, key="λ"),
        "part1 bound": part1.bound_table(groups),
        "part1 ib": part1.ib_table(groups),
        "part1 slopes": part1.slopes_table(groups),
        "part1 theory slopes": part1.slopes_table(theory),
        "part1 theory balance": part1.balance.balance_table(theory),
        "part1 concentration": part1.concentration_table(concentration),
        "part1 architectures": part1.architecture_table(architectures),
        "part1 vit sweep": part1.architecture_table({f"ViT n {r.config.num_train} wd {r.config.weight_decay:g}": r
                                                     for r in vits}),
    }


def _part3(gu) -> dict[str, str]:
    part3 = gu.part3
    arms = part3.load_intervention("paper", progress=False)
    tasks = part3.load_tasks("paper", progress=False)
    mlp = part3.load_mlp("paper", progress=False)
    strong = part3.load_mixing_strong("paper", progress=False)
    larger = part3.load_s5_larger_split("paper", progress=False)
    main = arms["baseline"]
    claims = part3.claims(main, arms["mixing"], arms["norm-matched"], tasks, mlp)
    strong_name = f"mixing α = {gu.presets.MIXING_ALPHA_STRONG}"
    return {
        "part3 claims": gu.claims.claims_table(claims),
        "part3 verdict summary": gu.claims.verdict_summary(claims),
        "part3 events": part3.events_table(main),
        "part3 s5 larger events": part3.events_table(larger),
        "part3 intervention": part3.intervention_table(main, arms["mixing"], arms["norm-matched"],
                                                       exploratory={strong_name: strong}),
        "part3 exploratory": part3.exploratory_sentence(main, strong, strong_name),
        "part3 shift": part3.entropy_shift_sentence(part3.entropy_shift(main, arms["mixing"], "mixing")),
        "part3 predictors": part3.predictor_table(main),
        "part3 proposition 6": part3.proposition6_table(main),
        "part3 tasks": part3.task_table(tasks),
        "part3 architectures": part3.architecture_table(mlp, main),
        "part3 lemma 4": part3.tables.rank_decay_table(main),
        "part3 early stop": part3.tables.budget_sentence(main, main[0].config.num_steps),
        "part3 table 5": part3.tables.diagnosis_table(tasks, part3.threshold(main).value),
        **_calibration(part3),
    }


def _calibration(part3) -> dict[str, str]:
    groups = part3.load_calibration("paper", progress=False)
    return {"part3 calibration": part3.calibration_table(groups),
            "part3 calibration sentence": part3.calibration_sentence(groups),
            "part3 calibration entropy and time": part3.calibration.entropy_time_sentence(groups)}


def compute() -> dict[str, str]:
    """Every table above as its Markdown text."""
    import grokutils as gu

    return {name: str(text) for name, text in {**_part1(gu), **_part3(gu)}.items()}


if __name__ == "__main__":
    numbers = compute()
    if "--write" in sys.argv:
        GOLDEN.write_text(json.dumps(numbers, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {len(numbers)} tables to {GOLDEN}")
    else:
        print(json.dumps(numbers, indent=1, ensure_ascii=False))
