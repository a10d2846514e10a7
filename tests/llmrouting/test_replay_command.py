"""`manage.py routing_replay`: a thin adapter over llmrouting.replay, with clear errors."""

import csv
import json
import random

import pytest
from django.core.management import CommandError, call_command

MODELS = {"small": 0.001, "medium": 0.01, "large": 0.1}


def write_rows(path, rows: int, *, seed: int = 1, blank_every: int = 0) -> None:
    rng = random.Random(seed)
    header = ["", "sample_id", "prompt", "eval_name", *MODELS, *[f"{m}|total_cost" for m in MODELS]]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for index in range(rows):
            easy = index % 2 == 0
            prompt = "['What is 2 + 2?']" if easy else "['Write a python function that parses dates.']"
            quality = {"small": 1.0 if easy else float(rng.random() < 0.3), "medium": 1.0 if easy else
                       float(rng.random() < 0.7), "large": 1.0}  # fmt: skip
            values = [quality[m] for m in MODELS]
            if blank_every and index % blank_every == 0:
                values[0] = ""
            writer.writerow([index, f"s{index}", prompt, "synthetic", *values, *MODELS.values()])


def run(*args) -> str:
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("routing_replay", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_json_output_has_the_issue_shape(tmp_path):
    path = tmp_path / "rows.csv"
    write_rows(path, 200, blank_every=50)

    result = json.loads(run(str(path), "--json"))

    assert (result["rows"], result["skipped"]) == (196, 4)
    assert set(result["router"]) == {"quality", "cost"}
    assert set(result["baselines"]) == {"cheapest", "best_single", "oracle"}
    assert result["baselines"]["best_single"]["model"] == "large"
    assert result["baselines"]["best_single"]["cost"] == pytest.approx(196 * 0.1)
    assert result["baselines"]["cheapest"]["model"] == "small"
    # cheaper than always using the best model, better than always using the cheapest
    assert result["router"]["cost"] < result["baselines"]["best_single"]["cost"]
    assert result["router"]["quality"] > result["baselines"]["cheapest"]["quality"]


def test_history_rows_are_learned_first(tmp_path):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    write_rows(train, 200, seed=2)
    write_rows(test, 100, seed=3)

    without = json.loads(run(str(test), "--json"))
    with_history = json.loads(run(str(test), "--history", str(train), "--json"))

    assert with_history["rows"] == without["rows"] == 100
    assert with_history["router"] != without["router"]


def test_table_output_names_the_target(tmp_path):
    path = tmp_path / "rows.csv"
    write_rows(path, 60)
    text = run(str(path))
    assert "best_single" in text and "of its cost" in text


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run(str(tmp_path / "nope.csv"))


def test_a_csv_without_the_needed_columns_is_a_clear_error(tmp_path):
    no_prompt = tmp_path / "a.csv"
    no_prompt.write_text("question,small,small|total_cost\nx,1,0.1\n")
    no_models = tmp_path / "b.csv"
    no_models.write_text("prompt,small\nx,1\n")

    with pytest.raises(CommandError, match="no 'prompt' column"):
        run(str(no_prompt))
    with pytest.raises(CommandError, match="no model columns"):
        run(str(no_models))
