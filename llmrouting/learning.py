"""Learns which model is good enough for which kind of prompt, and picks the cheapest one that is.

Outcome model: for every model a Beta posterior over its quality (the chance a review approves its answer;
fractional qualities count as fractional successes). Posteriors are kept at three levels of context, coarse to
fine: all prompts, prompts of the same *shape* (multiple choice / code / maths / free text, few-shot or not,
length class, caller-given kind) and prompts of the same *template* (shape plus the prompt's opening words).
Each level is shrunk towards its parent, so a new template starts from what its shape has shown and a new shape
from what the model did overall; a model with no outcomes at all starts as the typical model on such prompts.

Choice, for one prompt:
1. Warm-up: a candidate tried fewer than ``warmup_outcomes`` times on prompts of this shape is tried (cheapest
   first), so that no model is written off on no evidence.
2. Thompson sampling draws a plausible quality for every candidate (the exploration; ``exploration`` scales it).
3. Candidates clearly (two standard deviations) below ``quality_floor`` x the best mean quality are left out,
   whatever the spending cap says: they are never worth a saving.
4. Among the rest, the cheapest mix of at most two models whose expected quality reaches ``quality_target`` x the
   best draw, without spending more on average than ``cost_share`` x the priciest candidate's cost; when both
   cannot hold, the cap wins and the mix is the best one it affords. Mixing rather than always escalating is what
   lets the average reach the target cheaply: e.g. 87 % of such prompts on a model 94 % as good as the best and
   13 % on the best one. The mix is followed by error diffusion, so the shares hold steadily.

On the RouterBench train files, a bag-of-words model of the question predicted which model would succeed on it
barely better than chance (AUC 0.5-0.6), and it made routing worse, so the learner only uses these coarse contexts.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass, field

GLOBAL_CONTEXT = "*"
STATE_VERSION = 1

DEFAULT_QUALITY_TARGET = 0.95
DEFAULT_COST_SHARE = 0.2
DEFAULT_QUALITY_FLOOR = 0.5
DEFAULT_PRIOR_MEAN = 0.5
DEFAULT_PRIOR_STRENGTH = 2.0
DEFAULT_CONTEXT_STRENGTH = 20.0
DEFAULT_EXPLORATION = 0.7
DEFAULT_WARMUP_OUTCOMES = 4
DEFAULT_BUDGET_WINDOW = 50.0
ALL_MODELS = "*all*"


@dataclass(frozen=True)
class Candidate:
    """A model the router may use for this request, with its expected cost for it. The tier is the router's
    business (floors, fallbacks); the learner goes by cost and by what it has seen."""

    name: str
    cost: float
    tier: str | None = None


@dataclass(frozen=True)
class Choice:
    """The chosen model, a one-sentence reason to record with the decision, and per candidate its estimated
    quality, uncertainty, cost and (when the estimates decided) the Thompson draw."""

    model: str
    reason: str
    estimates: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------------------------
# Prompt features
# ---------------------------------------------------------------------------------------------------------------

_BLANK_LINE = re.compile(r"\n\s*\n")
_OPTION_LINE = re.compile(r"^\s*\(?([A-Ja-j])[).:]\s", re.MULTILINE)
_CODE_MARKERS = re.compile(
    r"```|\bdef |\bclass |\bfunction\b|\bpython\b|\bjavascript\b|\bsql\b|\bregex\b|\breturn\b|[{};]\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_MATH_MARKERS = re.compile(
    r"\d+\s*[-+*/^=%]\s*\d+|\bhow (?:many|much)\b|\bcalculate\b|\bsolve\b|\bequation\b|\$\s*\d", re.IGNORECASE
)
_WORD = re.compile(r"[a-z]+")


def context_keys(prompt: str, kind: str = "") -> tuple[str, ...]:
    """The contexts a prompt belongs to, coarse to fine: all prompts, its shape, its template.

    Only cheap surface features of the prompt (and the caller's ``kind``) are used, never answers or labels.
    """
    blocks = [block for block in _BLANK_LINE.split(prompt) if block.strip()] or [prompt]
    question = blocks[-1]
    shape = "|".join(
        part
        for part in (
            f"kind={kind}" if kind else "",
            _task_form(prompt, question),
            "few-shot" if len(blocks) >= 3 else "",
            _length_class(len(prompt)),
        )
        if part
    )
    opening = " ".join(_WORD.findall(prompt[:200].lower())[:3])
    return GLOBAL_CONTEXT, f"shape:{shape}", f"template:{shape}|{opening}"


def _task_form(prompt: str, question: str) -> str:
    options = {letter.upper() for letter in _OPTION_LINE.findall(question)}
    if len(options) >= 2:
        return f"choice-of-{len(options)}"
    if _CODE_MARKERS.search(prompt):
        return "code"
    if _MATH_MARKERS.search(question):
        return "maths"
    return "text"


def _length_class(length: int) -> str:
    if length < 500:
        return "short"
    if length < 4000:
        return "medium"
    return "long"


# ---------------------------------------------------------------------------------------------------------------
# Choosing among candidates
# ---------------------------------------------------------------------------------------------------------------


def efficient_frontier(values: dict[str, float], costs: dict[str, float]) -> list[str]:
    """Models on the upper convex hull of (cost, value), cheapest first.

    Any mix of models off this hull is beaten by a mix of two neighbours on it (cheaper for the same value).
    """
    frontier: list[str] = []
    for name in sorted(values, key=lambda n: (costs[n], -values[n], n)):
        if frontier and values[name] <= values[frontier[-1]]:
            continue
        while len(frontier) >= 2 and not _bends_down(frontier[-2], frontier[-1], name, values, costs):
            frontier.pop()
        frontier.append(name)
    return frontier


def _bends_down(left: str, middle: str, right: str, values: dict[str, float], costs: dict[str, float]) -> bool:
    rise_left = (values[middle] - values[left]) * (costs[right] - costs[left])
    rise_right = (values[right] - values[left]) * (costs[middle] - costs[left])
    return rise_left > rise_right


def cheapest_mix(
    frontier: list[str], values: dict[str, float], costs: dict[str, float], target: float, budget: float
) -> list[tuple[str, float]]:
    """Probabilities over at most two frontier models: cheapest with expected value >= target, within budget.

    When the target costs more than the budget, the mix with the best expected value that the budget affords.
    """
    for index, name in enumerate(frontier):
        if values[name] >= target:
            mix = _interpolate(frontier, index, values, target)
            if _mix_cost(mix, costs) <= budget:
                return mix
            break
    return _best_within_budget(frontier, costs, budget)


def _interpolate(frontier: list[str], index: int, values: dict[str, float], target: float) -> list[tuple[str, float]]:
    upper = frontier[index]
    if index == 0:
        return [(upper, 1.0)]
    lower = frontier[index - 1]
    share_upper = (target - values[lower]) / (values[upper] - values[lower])
    return [(lower, 1.0 - share_upper), (upper, share_upper)]


def _best_within_budget(frontier: list[str], costs: dict[str, float], budget: float) -> list[tuple[str, float]]:
    affordable = [name for name in frontier if costs[name] <= budget]
    if not affordable:
        return [(frontier[0], 1.0)]
    lower = affordable[-1]
    if lower == frontier[-1]:
        return [(lower, 1.0)]
    upper = frontier[frontier.index(lower) + 1]
    share_upper = (budget - costs[lower]) / (costs[upper] - costs[lower])
    return [(lower, 1.0 - share_upper), (upper, share_upper)]


def _mix_cost(mix: list[tuple[str, float]], costs: dict[str, float]) -> float:
    return sum(costs[name] * share for name, share in mix)


# ---------------------------------------------------------------------------------------------------------------
# The learner
# ---------------------------------------------------------------------------------------------------------------


class OutcomeLearner:
    """Per-model, per-context quality estimates learned from review outcomes, and the choice built on them.

    Tunables:
      quality_target     aim for this share of the best estimated quality (default for ``choose``)
      cost_share         spend on average at most this share of the priciest candidate's cost; None = no cap
      quality_floor      never save money on a model clearly below this share of the best one, cap or not
      prior_mean, prior_strength
                         Beta prior before any outcome at all (mean, pseudo-outcomes)
      context_strength   how many outcomes' worth a coarser context's estimate weighs in a finer one
      exploration        scale of the Thompson draws around the posterior mean (1 = plain Thompson
                         sampling, 0 = greedy on the means)
      warmup_outcomes    tries every candidate gets on each shape of prompt before the estimates decide
      budget_window      how many requests' worth of unspent (or overspent) allowance carries over
      seed               seed of the learner's own random generator, so replays are reproducible

    Not thread-safe: callers sharing one learner serialise ``choose`` and ``observe``.
    """

    def __init__(
        self,
        *,
        quality_target: float = DEFAULT_QUALITY_TARGET,
        cost_share: float | None = DEFAULT_COST_SHARE,
        quality_floor: float = DEFAULT_QUALITY_FLOOR,
        prior_mean: float = DEFAULT_PRIOR_MEAN,
        prior_strength: float = DEFAULT_PRIOR_STRENGTH,
        context_strength: float = DEFAULT_CONTEXT_STRENGTH,
        exploration: float = DEFAULT_EXPLORATION,
        warmup_outcomes: int = DEFAULT_WARMUP_OUTCOMES,
        budget_window: float = DEFAULT_BUDGET_WINDOW,
        seed: int = 0,
    ) -> None:
        _check_settings(quality_target, cost_share, quality_floor, prior_mean, prior_strength, context_strength)
        self.quality_target = quality_target
        self.cost_share = cost_share
        self.quality_floor = quality_floor
        self.prior_mean = prior_mean
        self.prior_strength = prior_strength
        self.context_strength = context_strength
        self.exploration = exploration
        self.warmup_outcomes = warmup_outcomes
        self.budget_window = budget_window
        self.seed = seed
        # Allowance not spent (negative: overspent) so far, in cost units; it carries over to later choices.
        self._unspent = 0.0
        # Per shape of prompt: how far behind its share of picks the stronger side of the current mix is.
        self._escalation_credit: dict[str, float] = {}
        # Per shape of prompt: warm-up picks per model, counted at choice time because reviews come later.
        self._warmup_picks: dict[str, dict[str, int]] = {}
        self._random = random.Random(seed)  # noqa: S311 - exploration, not security
        # context key -> model -> [sum of qualities, number of outcomes]
        self._outcomes: dict[str, dict[str, list[float]]] = {}

    # -- learning ------------------------------------------------------------------------------------------------

    def observe(self, prompt: str, model: str, quality: float, kind: str = "") -> None:
        """Record one reviewed outcome (quality in [0, 1]) of ``model`` on ``prompt``."""
        quality = float(quality)
        if math.isnan(quality):
            return
        quality = min(1.0, max(0.0, quality))
        for key in context_keys(prompt, kind):
            by_model = self._outcomes.setdefault(key, {})
            for name in (model, ALL_MODELS):
                totals = by_model.setdefault(name, [0.0, 0.0])
                totals[0] += quality
                totals[1] += 1.0

    def estimate(self, prompt: str, model: str, kind: str = "") -> tuple[float, float]:
        """Posterior mean quality of ``model`` on prompts like this one, and its standard deviation."""
        keys = context_keys(prompt, kind)
        alpha, beta = self._posteriors(keys, [model])[model]
        return _beta_mean(alpha, beta), _beta_sd(alpha, beta)

    def _posteriors(self, keys: tuple[str, ...], models) -> dict[str, tuple[float, float]]:
        # A model with little evidence here is first assumed to do as well as the models seen on such prompts.
        typical = _beta_mean(*self._chain(keys, ALL_MODELS, self.prior_mean))
        return {model: self._chain(keys, model, typical) for model in models}

    def _chain(self, keys: tuple[str, ...], model: str, prior_mean: float) -> tuple[float, float]:
        alpha = prior_mean * self.prior_strength
        beta = (1.0 - prior_mean) * self.prior_strength
        for depth, key in enumerate(keys):
            if depth:
                # A finer context starts from its parent's mean, weighted no more than the parent has evidence for.
                mean, weight = _beta_mean(alpha, beta), min(self.context_strength, alpha + beta)
                alpha, beta = mean * weight, (1.0 - mean) * weight
            successes, count = self._outcomes.get(key, {}).get(model, (0.0, 0.0))
            alpha += successes
            beta += count - successes
        return alpha, beta

    # -- choosing ------------------------------------------------------------------------------------------------

    def choose(
        self, prompt: str, candidates: list[Candidate], *, quality_target: float | None = None, kind: str = ""
    ) -> Choice:
        """Pick the model for ``prompt`` among ``candidates`` (each priced at its expected cost for this request).

        ``quality_target`` overrides the learner's default for this one choice.
        """
        if not candidates:
            raise ValueError("choose() needs at least one candidate")
        target_share = self.quality_target if quality_target is None else quality_target
        keys = context_keys(prompt, kind)
        shape = keys[1]
        costs = {candidate.name: max(0.0, float(candidate.cost)) for candidate in candidates}
        posteriors = self._posteriors(keys, costs)
        allowance = math.inf if self.cost_share is None else self.cost_share * max(costs.values())
        draws = None
        newcomer = self._least_tried(shape, costs)
        if newcomer is not None:
            model, spent = newcomer, costs[newcomer]
            self._warmup_picks.setdefault(shape, {})[model] = self._warmup_picks.get(shape, {}).get(model, 0) + 1
            reason = f"{model}: tried fewer than {self.warmup_outcomes} times on prompts like this, so trying it."
        else:
            draws = {name: self._draw(alpha, beta) for name, (alpha, beta) in posteriors.items()}
            best = max(draws, key=lambda name: (draws[name], -costs[name]))
            acceptable = {name: draws[name] for name in self._not_clearly_poor(posteriors)}
            frontier = efficient_frontier(acceptable, costs)
            mix = cheapest_mix(frontier, draws, costs, target_share * draws[best], allowance + self._unspent)
            model, spent = self._pick(mix, shape), _mix_cost(mix, costs)
            reason = _reason(model, mix, best, posteriors, costs, target_share)
        self._carry_over(allowance, spent)
        return Choice(model=model, reason=reason, estimates=_estimates_report(posteriors, costs, draws))

    def _not_clearly_poor(self, posteriors: dict[str, tuple[float, float]]) -> list[str]:
        """Candidates not clearly (by two standard deviations) below ``quality_floor`` x the best mean quality."""
        means = {name: _beta_mean(*posterior) for name, posterior in posteriors.items()}
        floor = self.quality_floor * max(means.values())
        return [name for name, posterior in posteriors.items() if means[name] + 2.0 * _beta_sd(*posterior) >= floor]

    def _least_tried(self, shape: str, costs: dict[str, float]) -> str | None:
        """The cheapest candidate with fewer than ``warmup_outcomes`` outcomes (or warm-up picks, since reviews
        may arrive late) on prompts of this shape; None once every candidate has had its tries."""
        outcomes = self._outcomes.get(shape, {})
        picks = self._warmup_picks.get(shape, {})
        tries = {name: max(outcomes.get(name, (0.0, 0.0))[1], picks.get(name, 0)) for name in costs}
        untried = [name for name in costs if tries[name] < self.warmup_outcomes]
        if not untried:
            return None
        return min(untried, key=lambda name: (tries[name], costs[name], name))

    def _carry_over(self, allowance: float, spent: float) -> None:
        if math.isinf(allowance):
            return
        # The cap holds on average: a cheap choice leaves room for a dearer one later and vice versa. The window
        # bounds the carried amount so that a long quiet spell does not fund a long expensive one.
        limit = self.budget_window * allowance
        self._unspent = max(-limit, min(limit, self._unspent + allowance - spent))

    def _draw(self, alpha: float, beta: float) -> float:
        mean = _beta_mean(alpha, beta)
        if not self.exploration:
            return mean
        return mean + self.exploration * (self._random.betavariate(alpha, beta) - mean)

    def _pick(self, mix: list[tuple[str, float]], context: str) -> str:
        """Follow the mix by error diffusion rather than by dice, so that the stronger model gets its share
        steadily (every ~8th prompt for a 12 % share) instead of by luck."""
        if len(mix) == 1:
            return mix[0][0]
        (lower, _), (upper, upper_share) = mix
        credit = self._escalation_credit.get(context, 0.0) + upper_share
        chosen = upper if credit >= 0.5 else lower
        self._escalation_credit[context] = credit - 1.0 if chosen == upper else credit
        return chosen

    # -- persistence ---------------------------------------------------------------------------------------------

    def settings(self) -> dict:
        return {name: getattr(self, name) for name in _SETTING_NAMES}

    def to_state(self) -> dict:
        """JSON-serialisable snapshot: tunables, learned outcomes, spending and warm-up bookkeeping, and the
        random generator's position (so a restored learner continues exactly as the original would)."""
        version, internal, gauss_next = self._random.getstate()
        return {
            "version": STATE_VERSION,
            "settings": self.settings(),
            "outcomes": {
                key: {model: list(totals) for model, totals in by_model.items()}
                for key, by_model in self._outcomes.items()
            },
            "unspent": self._unspent,
            "escalation_credit": dict(self._escalation_credit),
            "warmup_picks": {shape: dict(picks) for shape, picks in self._warmup_picks.items()},
            "random": [version, list(internal), gauss_next],
        }

    @classmethod
    def from_state(cls, state: dict) -> OutcomeLearner:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unknown learner state version: {state.get('version')!r}")
        learner = cls(**{name: value for name, value in state["settings"].items() if name in _SETTING_NAMES})
        learner._outcomes = {
            key: {model: [float(totals[0]), float(totals[1])] for model, totals in by_model.items()}
            for key, by_model in state["outcomes"].items()
        }
        learner._unspent = float(state.get("unspent", 0.0))
        learner._escalation_credit = {key: float(value) for key, value in state.get("escalation_credit", {}).items()}
        learner._warmup_picks = {
            shape: {model: int(count) for model, count in picks.items()}
            for shape, picks in state.get("warmup_picks", {}).items()
        }
        if state.get("random"):
            version, internal, gauss_next = state["random"]
            learner._random.setstate((version, tuple(internal), gauss_next))
        return learner


def _check_settings(quality_target, cost_share, quality_floor, prior_mean, prior_strength, context_strength) -> None:
    if not 0.0 <= quality_target <= 1.0 or not 0.0 <= quality_floor <= 1.0:
        raise ValueError("quality_target and quality_floor are shares of the best quality, in [0, 1]")
    if cost_share is not None and cost_share <= 0.0:
        raise ValueError("cost_share must be positive, or None for no cap")
    if not 0.0 < prior_mean < 1.0 or prior_strength <= 0.0 or context_strength <= 0.0:
        raise ValueError("prior_mean must be in (0, 1); prior_strength and context_strength positive")


_SETTING_NAMES = (
    "quality_target",
    "cost_share",
    "quality_floor",
    "prior_mean",
    "prior_strength",
    "context_strength",
    "exploration",
    "warmup_outcomes",
    "budget_window",
    "seed",
)


def _beta_mean(alpha: float, beta: float) -> float:
    return alpha / (alpha + beta)


def _beta_sd(alpha: float, beta: float) -> float:
    total = alpha + beta
    return math.sqrt(alpha * beta / (total * total * (total + 1.0)))


def _estimates_report(posteriors: dict, costs: dict, draws: dict | None) -> dict:
    report = {}
    for name, (alpha, beta) in posteriors.items():
        report[name] = {
            "quality": round(_beta_mean(alpha, beta), 4),
            "uncertainty": round(_beta_sd(alpha, beta), 4),
            "cost": costs[name],
        }
        if draws is not None:
            report[name]["draw"] = round(draws[name], 4)
    return report


def _reason(model: str, mix: list, best: str, posteriors: dict, costs: dict, target_share: float) -> str:
    quality = _beta_mean(*posteriors[model])
    evidence = max(0, round(sum(posteriors[model]) - 0.5))
    described = f"{model} (est. quality {quality:.2f} from ~{evidence} outcomes, cost {costs[model]:.6g})"
    if model == best and len(mix) == 1:
        return f"{described}: the best estimate for this kind of prompt."
    if len(mix) == 1:
        return f"{described}: cheapest option estimated within {target_share:.0%} of the best ({best})."
    (lower, lower_share), (upper, _) = mix
    role = "cheaper" if model == lower else "stronger"
    return (
        f"{described}: the {role} side of a {lower_share:.0%}/{1 - lower_share:.0%} mix of {lower} and {upper} "
        f"that aims at {target_share:.0%} of the best estimate ({best}) within the spending cap."
    )
