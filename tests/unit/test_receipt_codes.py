"""Receipt-code normalising: the server's rules against the table the kiosk's
static/kiosk/receipt.js is also tested against (tests/js/receipt.test.mjs)."""
import doctest
import json
from pathlib import Path

import pytest

from diaryroom.domain import receipts

VECTORS = json.loads((Path(__file__).parents[1] / "data" / "receipt_codes.json")
                     .read_text(encoding="utf-8"))


def test_the_shared_table_has_enough_cases():
    assert len(VECTORS) >= 20
    assert {v["code"] is None for v in VECTORS} == {True, False}


@pytest.mark.parametrize("vector", VECTORS, ids=[v["why"] for v in VECTORS])
def test_normalise_agrees_with_the_shared_table(vector):
    assert receipts.normalise(vector["typed"]) == vector["code"]


def test_a_generated_code_is_already_normal():
    for _ in range(50):
        code = receipts.generate()
        assert receipts.normalise(code) == code
        assert receipts.normalise(code.upper().replace("-", " ")) == code


def test_doctests():
    result = doctest.testmod(receipts)
    assert result.attempted > 0 and result.failed == 0
