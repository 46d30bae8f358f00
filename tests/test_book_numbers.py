"""The numbers the book prints stay what they were: every claims table and analysis table of
Parts I and III, recomputed from the stored results, equals the recorded text
(``tests/data/book_numbers.json``, written by ``python tests/book_numbers.py --write``)."""

import json

import pytest

import book_numbers


@pytest.fixture(scope="module")
def recorded() -> dict[str, str]:
    return json.loads(book_numbers.GOLDEN.read_text())


@pytest.fixture(scope="module")
def computed() -> dict[str, str]:
    return book_numbers.compute()


def test_every_recorded_table_is_computed(recorded, computed):
    assert set(computed) == set(recorded)


@pytest.mark.parametrize("name", sorted(json.loads(book_numbers.GOLDEN.read_text())))
def test_table_unchanged(name, recorded, computed):
    assert computed[name] == recorded[name], f"{name} changed; if a rule changed on purpose, rerun " \
                                             f"`python tests/book_numbers.py --write` and say why in the commit"
