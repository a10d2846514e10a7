"""Per-provider rpm/tpm limits: the limiter refuses before the provider would answer 429."""

import pytest
from django.utils import timezone

from llmrouting import limits
from llmrouting.models import LLMCall, RateWindow
from llmrouting.router import LLMRequest, RoutingFailed, route
from tests.processes import python as run_child


@pytest.mark.django_db
def test_rpm_limit_refuses_before_the_provider_sees_the_request(make, emulator):
    make("openai", rpm_limit=3)

    for _ in range(3):
        route(LLMRequest(prompt="hi"))
    with pytest.raises(RoutingFailed) as raised:
        route(LLMRequest(prompt="hi"))

    assert len(emulator.requests) == 3  # the fourth never left this process
    assert "rate limit" in " ".join(raised.value.details["failures"])
    assert LLMCall.objects.count() == 3


@pytest.mark.django_db
def test_a_provider_at_its_limit_is_skipped_for_another(make, emulator):
    make("openai", price="0.1", rpm_limit=1)
    other = make("gemini", price="1")

    route(LLMRequest(prompt="hi"))

    assert route(LLMRequest(prompt="hi")).deployment == other


@pytest.mark.django_db
def test_tpm_limit_counts_estimated_then_actual_tokens(make, emulator):
    deployment = make("openai", tpm_limit=1000)

    route(LLMRequest(prompt="hello there friend", max_tokens=600))

    window = RateWindow.objects.get(provider=deployment.provider)
    assert (window.requests, window.tokens) == (1, 4 + 600)  # the estimate: prompt characters / 4 + max_tokens
    limits.flush()
    window.refresh_from_db()
    assert window.tokens == 3 + 4  # settled to what the call really used
    with pytest.raises(limits.RateLimited):
        limits.acquire(deployment.provider, 994)
    assert limits.acquire(deployment.provider, 993) is not None


@pytest.mark.django_db
def test_a_pending_correction_rides_with_the_next_slot(make, emulator):
    deployment = make("openai", tpm_limit=10_000)

    route(LLMRequest(prompt="hello there friend", max_tokens=600))
    route(LLMRequest(prompt="hello there friend", max_tokens=600))

    window = RateWindow.objects.get(provider=deployment.provider)
    assert (window.requests, window.tokens) == (2, 7 + 604)  # first call settled, second still estimated


@pytest.mark.django_db
def test_previous_minute_still_counts_in_proportion(make):
    deployment = make("openai", rpm_limit=10)
    now = timezone.now()
    start = now.replace(second=0, microsecond=0)
    RateWindow.objects.create(provider=deployment.provider, window_start=start - limits.WINDOW, requests=10)
    carried, _ = limits._carried(deployment.provider, start, now)
    assert 0 <= carried <= 10 and carried == pytest.approx(10 * (1 - (now - start) / limits.WINDOW), abs=1)


@pytest.mark.django_db
def test_no_limits_means_no_rows(make, emulator):
    route(LLMRequest(prompt="hi")) if make("openai") else None
    assert not RateWindow.objects.exists()


TAKER = """
import time
from llmrouting import limits
from llmrouting.models import Provider
provider = Provider.objects.get(pk={pk})
while time.time() < {start}:
    time.sleep(0.001)
taken = 0
for _ in range(10):
    try:
        limits.acquire(provider, 1)
        taken += 1
    except limits.RateLimited:
        pass
print(taken)
"""


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_processes_share_one_limit(make):
    import time

    provider = make("openai", rpm_limit=12).provider
    now = timezone.now()
    if now.second >= 55:  # keep the race inside one minute window
        time.sleep(61 - now.second)
    start = time.time() + 0.5  # forked children are ready in tens of ms
    takers = [run_child(TAKER.format(pk=provider.pk, start=start)) for _ in range(3)]
    results = []
    for process in takers:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        results.append(int(out.strip()))

    assert sum(results) == 12, results
