"""OutcomeLearner: estimates from review outcomes, the cheapest good-enough choice, exploration, persistence."""

import json
import random

import pytest

from llmrouting.learning import (
    Candidate,
    Choice,
    OutcomeLearner,
    cheapest_mix,
    context_keys,
    efficient_frontier,
)

SHORT = "What is the capital of France?"
CODE = "Write a python function to reverse a linked list.\n\ndef reverse(head):"
MULTIPLE_CHOICE = "Which gas do plants absorb?\nA) oxygen\nB) carbon dioxide\nC) helium\nD) neon\nAnswer:"

CHEAP = Candidate(name="cheap", cost=0.001, tier="cheap")
STRONG = Candidate(name="strong", cost=0.01, tier="premium")


def feed(learner, prompt, model, successes, failures, kind=""):
    for _ in range(successes):
        learner.observe(prompt, model, 1.0, kind=kind)
    for _ in range(failures):
        learner.observe(prompt, model, 0.0, kind=kind)


def test_prompts_of_different_shapes_get_different_contexts():
    code, choice, short = context_keys(CODE), context_keys(MULTIPLE_CHOICE), context_keys(SHORT)

    assert code[0] == choice[0] == short[0]  # all prompts share the global context
    assert len({code[1], choice[1], short[1]}) == 3
    assert "code" in code[1] and "choice-of-4" in choice[1]
    assert context_keys(SHORT, kind="review")[1] != short[1]


def test_estimates_follow_outcomes_and_grow_surer():
    learner = OutcomeLearner()
    feed(learner, SHORT, "cheap", 4, 1)
    early_mean, early_spread = learner.estimate(SHORT, "cheap")
    feed(learner, SHORT, "cheap", 36, 9)
    mean, spread = learner.estimate(SHORT, "cheap")

    assert 0.7 < mean < 0.9
    assert spread < early_spread
    assert learner.estimate(SHORT, "never-seen") == pytest.approx((mean, spread), abs=0.5)


def test_fractional_qualities_count_and_bad_values_are_tamed():
    learner = OutcomeLearner()
    for _ in range(50):
        learner.observe(SHORT, "m", 0.3)
    learner.observe(SHORT, "m", float("nan"))
    learner.observe(SHORT, "other", 7.0)

    assert learner.estimate(SHORT, "m")[0] == pytest.approx(0.3, abs=0.03)
    assert learner.estimate(SHORT, "other")[0] <= 1.0


def test_learns_to_send_short_prompts_cheap_and_code_prompts_strong():
    """Only the chosen model's outcome is revealed: the learner has to find this out itself."""
    world = random.Random(7)
    quality = {("cheap", "short"): 0.95, ("cheap", "code"): 0.1, ("strong", "short"): 0.97, ("strong", "code"): 0.95}
    learner = OutcomeLearner(seed=3)
    late_choices = {"short": [], "code": []}
    for step in range(600):
        form = "code" if step % 2 else "short"
        prompt = (CODE if form == "code" else SHORT) + f" #{step}"
        model = learner.choose(prompt, [CHEAP, STRONG]).model
        learner.observe(prompt, model, float(world.random() < quality[(model, form)]))
        if step >= 400:
            late_choices[form].append(model)

    assert late_choices["short"].count("cheap") >= 0.8 * len(late_choices["short"])
    assert late_choices["code"].count("strong") >= 0.9 * len(late_choices["code"])


def test_with_no_outcomes_each_candidate_is_tried_cheapest_first():
    learner = OutcomeLearner(warmup_outcomes=2)
    picks = [learner.choose(SHORT, [STRONG, CHEAP]).model for _ in range(4)]

    # Tries are counted when chosen, so late reviews do not send every request to the same newcomer.
    assert picks == ["cheap", "strong", "cheap", "strong"]


def test_cheapest_model_within_the_quality_target_is_chosen():
    learner = OutcomeLearner(exploration=0.0, cost_share=None)
    feed(learner, SHORT, "cheap", 97, 3)
    feed(learner, SHORT, "strong", 99, 1)

    choice = learner.choose(SHORT, [CHEAP, STRONG], quality_target=0.95)

    assert isinstance(choice, Choice)
    assert choice.model == "cheap"
    assert "cheap" in choice.reason and "est. quality" in choice.reason
    assert set(choice.estimates) == {"cheap", "strong"}
    assert choice.estimates["cheap"]["cost"] == 0.001


def test_a_cheap_model_short_of_the_target_is_mixed_with_the_strong_one():
    learner = OutcomeLearner(exploration=0.0, cost_share=None)
    feed(learner, SHORT, "cheap", 850, 150)
    feed(learner, SHORT, "strong", 950, 50)

    picks = [learner.choose(SHORT, [CHEAP, STRONG], quality_target=0.95).model for _ in range(200)]

    # 0.95 * 0.95 = 0.9025 is reached by mixing 0.85 and 0.95 about half and half.
    assert 0.4 < picks.count("strong") / len(picks) < 0.6


def test_the_spending_cap_limits_escalation_on_average():
    learner = OutcomeLearner(exploration=0.0, cost_share=0.2)
    feed(learner, SHORT, "cheap", 850, 150)
    feed(learner, SHORT, "strong", 950, 50)

    picks = [learner.choose(SHORT, [CHEAP, STRONG]).model for _ in range(500)]
    spent = sum(0.01 if pick == "strong" else 0.001 for pick in picks)

    assert spent <= 0.2 * 0.01 * len(picks) * 1.01
    assert 0.05 < picks.count("strong") / len(picks) < 0.2


def test_a_model_far_below_the_best_is_never_forced_by_the_cap():
    learner = OutcomeLearner(exploration=0.0, cost_share=0.2)
    feed(learner, SHORT, "cheap", 1, 19)
    feed(learner, SHORT, "strong", 19, 1)

    assert {learner.choose(SHORT, [CHEAP, STRONG]).model for _ in range(20)} == {"strong"}


def test_choices_are_reproducible_with_a_seed():
    def run(seed):
        learner = OutcomeLearner(seed=seed)
        world = random.Random(1)
        picks = []
        for step in range(200):
            model = learner.choose(f"{SHORT} {step}", [CHEAP, STRONG, Candidate("mid", 0.004)]).model
            learner.observe(f"{SHORT} {step}", model, float(world.random() < 0.8))
            picks.append(model)
        return picks

    assert run(5) == run(5)


def test_state_survives_a_json_round_trip():
    learner = OutcomeLearner(seed=11, quality_target=0.9)
    candidates = [CHEAP, STRONG]
    for step in range(60):
        model = learner.choose(f"{CODE} {step}", candidates, kind="review").model
        learner.observe(f"{CODE} {step}", model, float(step % 3 != 0), kind="review")

    restored = OutcomeLearner.from_state(json.loads(json.dumps(learner.to_state())))

    assert restored.settings() == learner.settings()
    assert restored.estimate(CODE, "cheap", kind="review") == learner.estimate(CODE, "cheap", kind="review")
    original_next = [learner.choose(f"{CODE} x", candidates, kind="review").model for _ in range(30)]
    restored_next = [restored.choose(f"{CODE} x", candidates, kind="review").model for _ in range(30)]
    assert original_next == restored_next


def test_choose_needs_candidates_and_rejects_unknown_state():
    with pytest.raises(ValueError):
        OutcomeLearner().choose(SHORT, [])
    with pytest.raises(ValueError):
        OutcomeLearner.from_state({"version": 999})


def test_efficient_frontier_drops_dominated_and_poor_value_models():
    values = {"a": 0.5, "b": 0.6, "c": 0.9, "dominated": 0.55, "top": 0.95}
    costs = {"a": 1.0, "b": 5.0, "c": 3.0, "dominated": 4.0, "top": 10.0}

    assert efficient_frontier(values, costs) == ["a", "c", "top"]


def test_cheapest_mix_meets_the_target_or_the_best_the_budget_affords():
    values = {"a": 0.8, "b": 1.0}
    costs = {"a": 1.0, "b": 11.0}
    frontier = ["a", "b"]

    assert cheapest_mix(frontier, values, costs, target=0.75, budget=100) == [("a", 1.0)]
    mix = dict(cheapest_mix(frontier, values, costs, target=0.9, budget=100))
    assert mix == pytest.approx({"a": 0.5, "b": 0.5})
    capped = dict(cheapest_mix(frontier, values, costs, target=0.9, budget=3.0))
    assert capped == pytest.approx({"a": 0.8, "b": 0.2})
    assert cheapest_mix(frontier, values, costs, target=0.9, budget=0.5) == [("a", 1.0)]
