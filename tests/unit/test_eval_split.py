"""The frozen evaluation split (bench/splits.py) and how the text benchmark uses it: the
split never moves, its parts never share an item, and the test part is scored apart
without its errors being listed."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import eval_text, presidio_set
from bench.scoring import Item, Pred, Sample, markdown_table
from bench.splits import TEST, TUNE, split_of, wilson

UK_ROWS = [json.loads(line) for line in
           eval_text.UK_SET.read_text(encoding="utf-8").splitlines()]


def test_the_split_of_an_id_never_changes() -> None:
    # Pinned: if these move, every number reported on the frozen part so far is void.
    assert [split_of(i) for i in ("u001", "u002", "u003", "u006", "u260")] == [
        TEST, TUNE, TEST, TUNE, TEST]
    assert [split_of(f"p{i:04d}") for i in range(6)] == [TUNE, TEST, TUNE, TUNE, TEST, TUNE]
    assert split_of("u001") == split_of("u001") and split_of(7) == split_of("7")


def test_adding_items_moves_no_existing_one() -> None:
    ids = [f"u{i:03d}" for i in range(1, 261)]
    before = {i: split_of(i) for i in ids}
    after = {i: split_of(i) for i in [*reversed(ids), *(f"u{i:03d}" for i in range(261, 400))]}
    assert all(after[i] == before[i] for i in ids)


def test_every_uk_utterance_carries_its_split() -> None:
    assert len(UK_ROWS) == 260
    assert all(r["split"] == split_of(r["id"]) for r in UK_ROWS)


@pytest.mark.parametrize("ids", [
    [r["id"] for r in UK_ROWS],
    [f"p{i:04d}" for i in range(1500)],  # Presidio's set, by its sample IDs
])
def test_the_parts_are_disjoint_cover_everything_and_are_about_half(ids: list[str]) -> None:
    tune = {i for i in ids if split_of(i) == TUNE}
    test = {i for i in ids if split_of(i) == TEST}
    assert not tune & test and tune | test == set(ids)
    assert 0.4 < len(test) / len(ids) < 0.6


def test_presidio_sample_ids_are_their_index_in_the_file() -> None:
    path = presidio_set.DEFAULT_PATH
    if not path.exists():
        pytest.fail(f"the shared data is missing: {path}")
    samples = presidio_set.load(path, limit=3)
    assert [s.id for s in samples] == ["p0000", "p0001", "p0002"]


def test_a_stale_set_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    row = dict(UK_ROWS[0], split=TUNE if UK_ROWS[0]["split"] == TEST else TEST)
    stale = tmp_path / "uk_eval.jsonl"
    stale.write_text(json.dumps(row) + "\n", encoding="utf-8")
    monkeypatch.setattr(eval_text, "UK_SET", stale)
    with pytest.raises(ValueError, match="make_eval_set"):
        eval_text.load_uk("written")


def test_each_part_is_scored_apart_and_the_test_part_lists_no_errors() -> None:
    ids = ["u001", "u002", "u006", "u260"]  # test, tune, tune, test
    samples = [Sample(i, "Ann rang", [Item(0, 3, "NAME")]) for i in ids]
    result = eval_text.run(samples, lambda text: [Pred(4, 8, "NAME")])  # misses every name
    parts = result["splits"]
    assert parts[TUNE]["samples"] == 2 and parts[TEST]["samples"] == 2
    assert parts[TUNE]["micro"]["items"] + parts[TEST]["micro"]["items"] == 4
    assert parts[TEST]["per_type"]["NAME"]["recall"] == 0.0
    assert parts[TEST]["per_type"]["NAME"]["recall_ci"] == wilson(0, 2)
    assert {m["id"] for m in result["misses"]} == {"u002", "u006"}  # tune only
    assert parts[TEST]["misses"] == [] and parts[TEST]["false_positives"] == []
    assert len(parts[TUNE]["misses"]) == 2
    whole = markdown_table("whole", {"ours": result})
    assert "| detection, ms a text | |" in whole and "[" not in whole
    frozen = eval_text.split_tables("set", {"ours": result})[1]
    assert "frozen test part (2 texts)" in frozen
    assert "| NAME | 2 | 0 [0–66] / 0 [0–66] |" in frozen  # recall / precision, intervals


def test_wilson_intervals_stay_inside_zero_and_one() -> None:
    assert wilson(0, 0) is None
    assert wilson(20, 20) == (0.839, 1.0)
    low, high = wilson(0, 10)
    assert low == 0.0 and 0.2 < high < 0.35
    assert wilson(45, 50)[0] < 0.9 < wilson(45, 50)[1]
