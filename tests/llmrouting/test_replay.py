"""Replay of RouterBench-format CSVs: loading, what the learner may see, the result and its baselines."""

import csv
import random
import time

import pytest

from llmrouting.learning import Choice, OutcomeLearner
from llmrouting.replay import ReplayRow, baselines, load_rows, prompt_text, replay, static_prices

MODELS = ["small", "big"]


def write_csv(path, models, rows, extra_columns=("eval_name",)):
    """rows: (prompt, {model: (quality, cost)}) with raw cell values, so blanks and junk can be written."""
    header = ["", "sample_id", "prompt", *extra_columns]
    header += models + [f"{m}|model_response" for m in models] + [f"{m}|total_cost" for m in models]
    header += ["oracle_model_to_route_to"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for index, (prompt, cells) in enumerate(rows):
            record = [index, f"id{index}", prompt, *(["some-eval"] * len(extra_columns))]
            record += [cells[m][0] for m in models] + ["answer"] * len(models) + [cells[m][1] for m in models]
            writer.writerow([*record, models[0]])
    return path


def hand_checked_rows():
    # small: quality 1, 0, 1 cost 1 each; big: quality 1, 1, 1 cost 10 each.
    return [
        ("['Say hi.']", {"small": (1, 1), "big": (1, 10)}),
        ("['Write a python function to add.']", {"small": (0, 1), "big": (1, 10)}),
        ("['Name a colour.']", {"small": (1, 1), "big": (1, 10)}),
    ]


class AlwaysPicks:
    """A learner spy: always chooses one model and records what it is shown."""

    def __init__(self, model):
        self.model = model
        self.observed = []
        self.offered = []

    def observe(self, prompt, model, quality, kind=""):
        self.observed.append((prompt, model, quality))

    def choose(self, prompt, candidates, **options):
        self.offered.append((prompt, candidates))
        return Choice(model=self.model, reason="spy")


def test_load_rows_takes_models_from_the_header_and_decodes_prompts(tmp_path):
    path = write_csv(tmp_path / "bench.csv", MODELS, hand_checked_rows())

    models, rows, skipped = load_rows(path)

    assert models == MODELS  # eval_name and the response/cost columns are not models
    assert skipped == 0
    assert [row.prompt for row in rows] == ["Say hi.", "Write a python function to add.", "Name a colour."]
    assert rows[1].quality == {"small": 0.0, "big": 1.0}
    assert rows[1].cost == {"small": 1.0, "big": 10.0}


def test_rows_with_missing_or_bad_values_are_skipped_and_counted(tmp_path):
    rows = [
        *hand_checked_rows(),
        ("['blank quality']", {"small": ("", 1), "big": (1, 10)}),
        ("['junk cost']", {"small": (1, "n/a"), "big": (1, 10)}),
        ("['nan quality']", {"small": ("nan", 1), "big": (1, 10)}),
        ("['quality above one']", {"small": (3, 1), "big": (1, 10)}),
    ]
    path = write_csv(tmp_path / "bench.csv", MODELS, rows)

    models, loaded, skipped = load_rows(path)
    result = replay(loaded, models, learner_factory=lambda: AlwaysPicks("big"), skipped=skipped)

    assert len(loaded) == 3 and skipped == 4
    assert result["rows"] == 3 and result["skipped"] == 4


def test_replay_result_shape_and_hand_checked_baselines(tmp_path):
    models, rows, skipped = load_rows(write_csv(tmp_path / "bench.csv", MODELS, hand_checked_rows()))

    result = replay(rows, models, learner_factory=lambda: AlwaysPicks("small"), skipped=skipped)

    assert result == {
        "rows": 3,
        "skipped": 0,
        "router": {"quality": pytest.approx(2 / 3), "cost": pytest.approx(3.0)},
        "baselines": {
            "cheapest": {"model": "small", "quality": pytest.approx(2 / 3), "cost": pytest.approx(3.0)},
            "best_single": {"model": "big", "quality": pytest.approx(1.0), "cost": pytest.approx(30.0)},
            # Per row the cheapest of the best: small, big, small.
            "oracle": {"quality": pytest.approx(1.0), "cost": pytest.approx(12.0)},
        },
    }


def test_best_single_ties_go_to_the_cheaper_model():
    rows = [ReplayRow("p", {"a": 1.0, "b": 1.0}, {"a": 2.0, "b": 1.0})]

    assert baselines(rows, ["a", "b"])["best_single"]["model"] == "b"


def test_only_the_chosen_models_outcome_is_revealed_after_the_history():
    history = [ReplayRow(f"h{i}", {"small": 0.5, "big": 1.0}, {"small": 1.0, "big": 10.0}) for i in range(2)]
    rows = [ReplayRow(f"r{i}", {"small": 0.0, "big": 1.0}, {"small": 1.0, "big": 10.0}) for i in range(3)]
    spy = AlwaysPicks("small")

    replay(rows, MODELS, history_rows=history, learner_factory=lambda: spy)

    # History: every model of every row; replay: only the chosen one, after the choice was made.
    assert spy.observed[:4] == [("h0", "small", 0.5), ("h0", "big", 1.0), ("h1", "small", 0.5), ("h1", "big", 1.0)]
    assert spy.observed[4:] == [("r0", "small", 0.0), ("r1", "small", 0.0), ("r2", "small", 0.0)]
    assert [prompt for prompt, _ in spy.offered] == ["r0", "r1", "r2"]


def test_candidates_are_priced_from_a_static_price_list():
    rows = [
        ReplayRow("a", {"small": 1.0, "big": 1.0}, {"small": 1.0, "big": 8.0}),
        ReplayRow("b", {"small": 1.0, "big": 1.0}, {"small": 3.0, "big": 12.0}),
    ]
    spy = AlwaysPicks("big")

    replay(rows, MODELS, learner_factory=lambda: spy)

    assert static_prices(rows, MODELS) == {"small": 2.0, "big": 10.0}
    for _, candidates in spy.offered:  # the same prices on every row, not that row's own costs
        assert {c.name: c.cost for c in candidates} == {"small": 2.0, "big": 10.0}


def test_rows_lacking_a_model_are_dropped_by_replay_too():
    rows = [
        ReplayRow("ok", {"small": 1.0, "big": 1.0}, {"small": 1.0, "big": 2.0}),
        ReplayRow("partial", {"small": 1.0}, {"small": 1.0}),
    ]

    result = replay(rows, MODELS, learner_factory=lambda: AlwaysPicks("small"))

    assert result["rows"] == 1 and result["skipped"] == 1


def test_an_empty_replay_reports_zeros():
    result = replay([], MODELS)

    assert result["rows"] == 0
    assert result["router"] == {"quality": 0.0, "cost": 0.0}


def test_prompt_text_joins_list_turns_and_keeps_plain_text():
    assert prompt_text("['first turn', 'second turn']") == "first turn\n\nsecond turn"
    assert prompt_text("[not a list") == "[not a list"
    assert prompt_text("plain") == "plain"


def synthetic_bench(path, count, seed=0):
    """cheap: good on short questions, poor on code; mid: decent everywhere; big: best and ten times dearer."""
    world = random.Random(seed)
    chance = {"cheap": (0.9, 0.15), "mid": (0.85, 0.75), "big": (0.95, 0.9)}
    price = {"cheap": 0.001, "mid": 0.003, "big": 0.03}
    rows = []
    for index in range(count):
        is_code = world.random() < 0.5
        prompt = f"['Write a python function that returns {index}.']" if is_code else f"['What is {index} plus one?']"
        cells = {m: (int(world.random() < chance[m][is_code]), price[m]) for m in chance}
        rows.append((prompt, cells))
    return write_csv(path, list(chance), rows)


def test_the_real_learner_beats_the_best_single_model_on_price(tmp_path):
    models, rows, skipped = load_rows(synthetic_bench(tmp_path / "bench.csv", 800))

    result = replay(rows, models, skipped=skipped)

    best = result["baselines"]["best_single"]
    assert best["model"] == "big"
    assert result["router"]["quality"] >= 0.85 * best["quality"]
    assert result["router"]["cost"] <= 0.5 * best["cost"]


def test_history_helps_and_replays_are_deterministic(tmp_path):
    models, rows, _ = load_rows(synthetic_bench(tmp_path / "bench.csv", 600, seed=1))
    history, rest = rows[:300], rows[300:]

    cold = replay(rest, models)
    warm = replay(rest, models, history_rows=history)

    assert replay(rest, models, history_rows=history) == warm
    assert warm["router"]["quality"] >= cold["router"]["quality"] - 0.02


def test_a_thousand_rows_replay_in_well_under_a_few_seconds(tmp_path):
    models = [f"model-{i}" for i in range(11)]
    world = random.Random(2)
    rows = [
        ReplayRow(
            prompt=f"Question {i}: which option?\nA) x\nB) y\nAnswer:",
            quality={m: float(world.random() < 0.3 + 0.05 * j) for j, m in enumerate(models)},
            cost={m: 0.0001 * (j + 1) for j, m in enumerate(models)},
        )
        for i in range(1000)
    ]
    started = time.perf_counter()

    replay(rows, models, history_rows=rows[:500], learner_factory=lambda: OutcomeLearner(seed=1))

    assert time.perf_counter() - started < 3.0
