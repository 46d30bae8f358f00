"""The stored paper-profile results that the book renders: present, keyed, and as claimed.

These tests read results/ (committed); they fail if a stored result is
missing, was produced by another configuration, or no longer shows what the
chapter says it shows.
"""

import re

import pytest

import grokutils as gu
from grokutils.runs import REPO_ROOT

STORE = gu.store_for("paper")
# A chapter's runs must be stored once its notebook is in the book (_toc.yml); the runs of
# chapters still being written may be in progress (``python -m grokutils.regenerate`` resumes them).
IN_BOOK = set(re.findall(r"file:\s*notebooks/(\S+)", (REPO_ROOT / "_toc.yml").read_text()))
PAPER_CONFIGS = [c for chapter, configs in gu.presets.paper_runs().items() if chapter in IN_BOOK for c in configs]


def test_the_quickstart_chapter_is_in_the_book():
    assert "00_quickstart" in IN_BOOK


@pytest.mark.parametrize("config", PAPER_CONFIGS, ids=lambda c: c.label())
def test_every_paper_result_is_stored_under_its_key(config):
    result = STORE.load(config)
    assert result is not None, f"missing {STORE.path(config).name}: run `make results`"
    assert result.config == config
    assert result.complete, (f"{result.config.label()} ends at step {result.steps[-1]}: neither num_steps = "
                             f"{config.num_steps} nor its early stop after grokking")


def test_quickstart_nanda_groks_at_least_95_percent_long_after_fitting():
    check = gu.report.grokking_check(STORE.load(gu.presets.nanda("paper")))
    assert check.t_grok is not None and check.final_test_acc >= 0.95
    assert check.groks, check.sentence()


def test_quickstart_mnist_groks_at_least_85_percent_long_after_fitting():
    check = gu.report.grokking_check(STORE.load(gu.presets.omnigrok_mnist("paper")))
    assert check.t_grok is not None and check.final_test_acc >= 0.85
    assert check.groks, check.sentence()


def test_paper_runs_cover_every_configuration_the_part1_notebooks_read():
    read = (gu.presets.collapse_sweep("paper") + gu.presets.concentration_sweep("paper")
            + gu.presets.collapse_theory("paper") + list(gu.presets.collapse_architectures("paper").values()))
    regenerated = {c for configs in gu.presets.paper_runs().values() for c in configs}
    assert set(read) <= regenerated
