"""Routing replay benchmark: the router's learner against fixed choices on RouterBench-format CSVs.

    .venv/bin/python tests/bench/bench_routing_replay.py /work/shared/data/routerbench [more files or dirs]
    .venv/bin/python tests/bench/bench_routing_replay.py data.csv --orders 5 --json

For every file, in three settings: cold start (learning online from nothing), 50 % history (the first half's
outcomes for every model are past data, the second half is replayed) and, when several files are given,
other files' history (every other file is past data, this whole file is replayed: a leave-one-file-out check of
how what was learned on other tasks carries over). Only the chosen model's quality is revealed after each
replayed row. With --orders N the rows are also replayed in N-1 shuffled orders and the figures averaged.

Target: router quality >= 95 % of the best single model's at <= 20 % of its cost, on the same rows.
"""

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from llmrouting.replay import load_rows, replay  # noqa: E402 - needs the path above

QUALITY_GOAL = 0.95
COST_GOAL = 0.20


def csv_paths(arguments: list[str]) -> list[Path]:
    paths: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        paths.extend(sorted(path.glob("*.csv")) if path.is_dir() else [path])
    return paths


def row_orders(rows: list, count: int) -> list[list]:
    return [rows] + [random.Random(seed).sample(rows, len(rows)) for seed in range(1, count)]


def settings_for(path: Path, loaded: dict) -> list[tuple[str, list, list | None]]:
    """(setting name, replayed rows, history rows) for one file, in its original order."""
    models, rows, _ = loaded[path]
    half = len(rows) // 2
    settings = [("cold start", rows, None), ("history 50 %", rows[half:], rows[:half])]
    others = [
        row
        for other, (other_models, other_rows, _) in loaded.items()
        if other != path
        if set(models) <= set(other_models)
        for row in other_rows
    ]
    if others:
        settings.append(("other files' history", rows, others))
    return settings


def run_setting(models: list[str], rows: list, history: list | None, skipped: int, orders: int) -> dict:
    """Replay in each order (history shuffled alike) and average the result's figures."""
    results = []
    started = time.perf_counter()
    for seed, ordered in enumerate(row_orders(rows, orders)):
        past = history if history is None or seed == 0 else random.Random(seed).sample(history, len(history))
        results.append(replay(ordered, models, history_rows=past, skipped=skipped))
    average = _average(results)
    average["seconds_per_replay"] = (time.perf_counter() - started) / len(results)
    return average


def _average(results: list[dict]) -> dict:
    first = results[0]

    def mean(pick):
        return sum(pick(result) for result in results) / len(results)

    router = {key: mean(lambda r, key=key: r["router"][key]) for key in ("quality", "cost")}
    baselines = {
        name: {
            **({"model": entry["model"]} if "model" in entry else {}),
            "quality": mean(lambda r, name=name: r["baselines"][name]["quality"]),
            "cost": mean(lambda r, name=name: r["baselines"][name]["cost"]),
        }
        for name, entry in first["baselines"].items()
    }
    best = baselines["best_single"]
    quality_share = router["quality"] / best["quality"] if best["quality"] else 0.0
    cost_share = router["cost"] / best["cost"] if best["cost"] else 0.0
    return {
        "rows": first["rows"],
        "skipped": first["skipped"],
        "router": router,
        "baselines": baselines,
        "quality_vs_best": quality_share,
        "cost_vs_best": cost_share,
        "meets_target": quality_share >= QUALITY_GOAL and cost_share <= COST_GOAL,
    }


def table(name: str, models: list[str], skipped: int, outcomes: list[tuple[str, dict]]) -> str:
    lines = [
        f"== {name}: {len(models)} models, {skipped} rows skipped",
        f"{'setting':24}{'rows':>6}  {'router q/$':>17}  {'cheapest q/$':>17}  {'best single q/$':>17}  "
        f"{'oracle q/$':>17}  {'q % best':>8}  {'$ % best':>8}  target",
    ]
    for setting, result in outcomes:
        cells = [result["router"], *(result["baselines"][key] for key in ("cheapest", "best_single", "oracle"))]
        figures = "  ".join(f"{cell['quality']:>7.4f} {cell['cost']:>9.4f}" for cell in cells)
        verdict = "MET" if result["meets_target"] else "missed"
        lines.append(
            f"{setting:24}{result['rows']:>6}  {figures}  {result['quality_vs_best']:>8.1%}  "
            f"{result['cost_vs_best']:>8.1%}  {verdict}"
        )
    best = outcomes[0][1]["baselines"]
    lines.append(f"   cheapest: {best['cheapest']['model']}; best single: {best['best_single']['model']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", help="RouterBench-format CSV files or directories of them")
    parser.add_argument("--orders", type=int, default=1, help="row orders to average over (1 = file order)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    options = parser.parse_args(argv)
    paths = csv_paths(options.paths)
    if not paths:
        parser.error("no CSV files found")
    loaded = {path: load_rows(path) for path in paths}
    report = {}
    for path in paths:
        models, _, skipped = loaded[path]
        report[path.name] = [
            (setting, run_setting(models, rows, history, skipped, options.orders))
            for setting, rows, history in settings_for(path, loaded)
        ]
    if options.json:
        print(json.dumps({name: dict(outcomes) for name, outcomes in report.items()}, indent=2))
    else:
        for path in paths:
            print(table(path.name, loaded[path][0], loaded[path][2], report[path.name]))
            print()
        print(
            f"target: router quality >= {QUALITY_GOAL:.0%} of the best single model's at <= {COST_GOAL:.0%} of its cost"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
