"""Offline replay of RouterBench-style CSV rows through the routing learner.

A row holds a prompt and, for every model, the quality its answer got and what it cost. Replaying feeds the
rows in order: the learner chooses a model from the prompt and what it has learned, then only that model's
quality is revealed to it. History rows, if any, are past outcomes and are revealed for every model first.

The learner is anything with ``observe(prompt, model, quality)`` and
``choose(prompt, candidates) -> object with .model``; by default an ``OutcomeLearner``.
"""

from __future__ import annotations

import ast
import csv
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from llmrouting.learning import Candidate, OutcomeLearner

COST_SUFFIX = "|total_cost"


@dataclass(frozen=True)
class ReplayRow:
    prompt: str
    quality: dict[str, float]
    cost: dict[str, float]


def load_rows(path) -> tuple[list[str], list[ReplayRow], int]:
    """Read a RouterBench CSV: (models, usable rows in file order, number of rows skipped).

    The models are the columns ``X`` that have an ``X|total_cost`` column. A row is skipped when any model's
    quality or cost is missing, blank, not a number, or (for quality) outside [0, 1].
    """
    csv.field_size_limit(10**9)
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        models = [column for column in header if column + COST_SUFFIX in header and not column.endswith(COST_SUFFIX)]
        rows: list[ReplayRow] = []
        skipped = 0
        for record in reader:
            row = _parse_row(record, models)
            if row is None:
                skipped += 1
            else:
                rows.append(row)
    return models, rows, skipped


def _parse_row(record: dict, models: list[str]) -> ReplayRow | None:
    quality: dict[str, float] = {}
    cost: dict[str, float] = {}
    for model in models:
        model_quality = _number(record.get(model))
        model_cost = _number(record.get(model + COST_SUFFIX))
        if model_quality is None or model_cost is None or not 0.0 <= model_quality <= 1.0 or model_cost < 0.0:
            return None
        quality[model] = model_quality
        cost[model] = model_cost
    return ReplayRow(prompt=prompt_text(record.get("prompt") or ""), quality=quality, cost=cost)


def _number(raw) -> float | None:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def prompt_text(raw: str) -> str:
    """RouterBench stores prompts as the repr of a list of turns; join the turns, or keep the text as it is."""
    stripped = raw.strip()
    if not stripped.startswith("["):
        return raw
    try:
        turns = ast.literal_eval(stripped)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return raw
    if isinstance(turns, list) and all(isinstance(turn, str) for turn in turns):
        return "\n\n".join(turns)
    return raw


def static_prices(rows: Iterable[ReplayRow], models: list[str]) -> dict[str, float]:
    """Mean cost per row of every model: a price list, the same for every row, as a price table would be."""
    totals = dict.fromkeys(models, 0.0)
    count = 0
    for row in rows:
        count += 1
        for model in models:
            totals[model] += row.cost[model]
    return {model: total / count if count else 0.0 for model, total in totals.items()}


def replay(
    rows: list[ReplayRow],
    models: list[str],
    history_rows: list[ReplayRow] | None = None,
    learner_factory: Callable[[], object] = OutcomeLearner,
    *,
    skipped: int = 0,
    prices: dict[str, float] | None = None,
) -> dict:
    """Route every row in order and compare with the cheapest, best single and oracle choices on the same rows.

    ``skipped`` counts rows already dropped while loading; rows lacking a model's values are dropped here too.
    ``prices`` is the per-model cost the learner is told (default: the mean cost per row over ``rows``).
    """
    usable = [row for row in rows if _complete(row, models)]
    skipped += len(rows) - len(usable)
    learner = learner_factory()
    for row in history_rows or ():
        if _complete(row, models):
            for model in models:
                learner.observe(row.prompt, model, row.quality[model])
    prices = prices if prices is not None else static_prices(usable, models)
    candidates = [Candidate(name=model, cost=prices[model]) for model in models]
    chosen_quality = 0.0
    chosen_cost = 0.0
    for row in usable:
        model = learner.choose(row.prompt, candidates).model
        quality = row.quality[model]
        learner.observe(row.prompt, model, quality)
        chosen_quality += quality
        chosen_cost += row.cost[model]
    count = len(usable)
    return {
        "rows": count,
        "skipped": skipped,
        "router": {"quality": chosen_quality / count if count else 0.0, "cost": chosen_cost},
        "baselines": baselines(usable, models),
    }


def _complete(row: ReplayRow, models: list[str]) -> bool:
    return all(model in row.quality and model in row.cost for model in models)


def baselines(rows: list[ReplayRow], models: list[str]) -> dict:
    """Cheapest model, best single model (ties: cheaper) and per-row oracle on ``rows``."""
    count = len(rows)
    quality = {model: sum(row.quality[model] for row in rows) for model in models}
    cost = {model: sum(row.cost[model] for row in rows) for model in models}

    def summary(model: str | None) -> dict:
        if model is None:
            return {"model": None, "quality": 0.0, "cost": 0.0}
        return {"model": model, "quality": quality[model] / count if count else 0.0, "cost": cost[model]}

    cheapest = min(models, key=lambda model: cost[model]) if models else None
    best_single = max(models, key=lambda model: (quality[model], -cost[model])) if models else None
    oracle_quality = 0.0
    oracle_cost = 0.0
    for row in rows:
        top = max(row.quality[model] for model in models)
        pick = min((model for model in models if row.quality[model] == top), key=lambda model: row.cost[model])
        oracle_quality += top
        oracle_cost += row.cost[pick]
    return {
        "cheapest": summary(cheapest),
        "best_single": summary(best_single),
        "oracle": {"quality": oracle_quality / count if count else 0.0, "cost": oracle_cost},
    }
