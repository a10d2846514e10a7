"""Replay RouterBench-format rows through the router's learner and compare with fixed choices."""

import csv
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from llmrouting import replay


class Command(BaseCommand):
    help = (
        "Replay a RouterBench-format CSV (a `prompt` column, one quality column per model in [0,1] and "
        "`<model>|total_cost` columns) through the same learner the router uses, revealing only the chosen "
        "model's quality after each row. Prints router quality/cost beside the cheapest, best single model "
        "and oracle baselines."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV file to replay, in order.")
        parser.add_argument("--history", help="CSV of past outcomes, fed to the learner (all models) first.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a table.")

    def handle(self, *args, path, history=None, json=False, **options):
        models, rows, skipped = _load(path)
        history_rows = None
        if history:
            history_models, history_rows, _ = _load(history)
            missing = sorted(set(models) - set(history_models))
            if missing:
                raise CommandError(f"{history} lacks columns for: {', '.join(missing)}.")
        if not json:
            self.stderr.write(f"Replaying {len(rows)} rows over {len(models)} models…")
        result = replay.replay(rows, models, history_rows=history_rows, skipped=skipped)
        if json:
            self.stdout.write(_dumps(result))
        else:
            self.stdout.write(_table(result))


def _load(path: str):
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"No such file: {path}")
    with file.open(newline="", encoding="utf-8") as handle:
        header = next(csv.reader(handle), [])
    if "prompt" not in header:
        raise CommandError(f"{path} has no 'prompt' column; is it a RouterBench-format CSV?")
    try:
        models, rows, skipped = replay.load_rows(file)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CommandError(f"Cannot read {path}: {exc}") from exc
    if not models:
        raise CommandError(f"{path} has no model columns: each model needs a quality column and '<model>|total_cost'.")
    return models, rows, skipped


def _dumps(result: dict) -> str:
    return json.dumps(result, sort_keys=False)


def _table(result: dict) -> str:
    best = result["baselines"]["best_single"]
    lines = [f"rows {result['rows']}, skipped {result['skipped']}", f"{'':14}{'quality':>10}{'cost':>14}  model"]
    entries = [("router", result["router"]), *result["baselines"].items()]
    for name, entry in entries:
        lines.append(f"{name:14}{entry['quality']:>10.4f}{entry['cost']:>14.4f}  {entry.get('model') or ''}")
    if best["quality"] and best["cost"]:
        quality_share = result["router"]["quality"] / best["quality"]
        cost_share = result["router"]["cost"] / best["cost"]
        verdict = "meets" if quality_share >= 0.95 and cost_share <= 0.20 else "misses"
        lines.append(
            f"router vs best single: {quality_share:.1%} of its quality at {cost_share:.1%} of its cost "
            f"({verdict} the ≥95 % at ≤20 % target)"
        )
    return "\n".join(lines)
