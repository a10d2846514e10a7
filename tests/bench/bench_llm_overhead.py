"""LLM routing overhead: our routing + breaker + limits + budget + ledger vs a raw HTTP call to the emulator.

    .venv/bin/python tests/bench/bench_llm_overhead.py [--calls 300]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python tests/bench/bench_llm_overhead.py

Three ways to make the same OpenAI-format chat call to the local provider emulator, interleaved so that
machine noise hits all of them alike:

  raw      http.client POST on a kept-alive connection (the floor: emulator + loopback)
  litellm  litellm.completion(...) alone (LiteLLM's own cost, which we do not control)
  routed   llmrouting.router.route(...): policy, eligibility, budget check, learner, breaker, rpm/tpm
           slot (conditional UPDATEs), the LiteLLM call, cost, one LLMCall row + one llm.call event

The provider has rpm/tpm limits and the project a budget, so every routed call takes the limits and
budget paths. With DATABASE_URL pointing at PostgreSQL a scratch database `architect_bench_llm` is
(re)created; otherwise a temporary SQLite file is used. Target: routed p50 - raw p50 <= 10 ms.
"""

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BENCH_DB = "architect_bench_llm"
TARGET_MS = 10.0


def setup_django(data_dir: str) -> None:
    os.environ["ARCHITECT_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "architect.settings")
    os.environ.setdefault("ARCHITECT_LOG_LEVEL", "WARNING")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    base = os.environ.get("DATABASE_URL", "")
    if base.startswith("postgres"):
        import psycopg

        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
        os.environ["DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + BENCH_DB
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def configure(emulator):
    from decimal import Decimal

    from llmrouting.models import Budget, Deployment, DeploymentHealth, Provider
    from projects.models import Project, Secret

    secret = Secret.objects.create(name="bench-key", value="sk-bench")
    provider = Provider.objects.create(
        name="bench-openai", kind="openai", api_base=emulator.api_base_for("openai"), credential=secret,
        enabled=True, rpm_limit=1_000_000, tpm_limit=1_000_000_000, timeout_seconds=10,
    )  # fmt: skip
    deployment = Deployment.objects.create(
        provider=provider, model="openai/gpt-4o-mini", tier="cheap", input_price=Decimal("0.15"),
        output_price=Decimal("0.6"),
    )  # fmt: skip
    DeploymentHealth.objects.create(deployment=deployment)
    project = Project.objects.create(name="Bench", slug="bench")
    Budget.objects.create(project=project, period="month", limit_usd=Decimal("1000"))
    return project


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered) * 1000, p99 * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-llm-") as data_dir:
        setup_django(data_dir)
        run(args.calls)


def run(calls: int) -> None:
    from llmrouting.models import LLMCall
    from llmrouting.router import LLMRequest, route
    from llmrouting.transport import litellm
    from tests.fakes.provider_emulator import ProviderEmulator

    with ProviderEmulator() as emulator:
        project = configure(emulator)
        messages = [{"role": "user", "content": "hello there friend"}]
        body = json.dumps({"model": "gpt-4o-mini", "messages": messages})
        connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=10)
        lib = litellm()

        def raw():
            connection.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json",
                                                                      "Authorization": "Bearer sk-bench"})  # fmt: skip
            assert json.loads(connection.getresponse().read())["choices"]

        def direct():
            lib.completion(model="openai/gpt-4o-mini", messages=messages, api_base=emulator.api_base_for("openai"),
                           api_key="sk-bench", num_retries=0)  # fmt: skip

        def routed():
            assert route(LLMRequest(prompt="hello there friend", project_id=project.pk)).text

        timings = {"raw": [], "litellm": [], "routed": []}
        ways = {"raw": raw, "litellm": direct, "routed": routed}
        for _ in range(20):  # warm up: imports, connection pools, the learner
            for way in ways.values():
                way()
        for _ in range(calls):
            for name, way in ways.items():
                started = time.perf_counter()
                way()
                timings[name].append(time.perf_counter() - started)

        backend = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
        print(f"LLM routing overhead, {calls} calls each, {backend}, emulator on loopback")
        print(f"{'':10}{'p50 ms':>10}{'p99 ms':>10}")
        results = {name: percentiles(samples) for name, samples in timings.items()}
        for name, (p50, p99) in results.items():
            print(f"{name:10}{p50:>10.2f}{p99:>10.2f}")
        over_raw = results["routed"][0] - results["raw"][0]
        over_litellm = results["routed"][0] - results["litellm"][0]
        print(f"routed - raw      p50 {over_raw:+.2f} ms   p99 {results['routed'][1] - results['raw'][1]:+.2f} ms"
              f"   (target <= {TARGET_MS:.0f} ms p50: {'met' if over_raw <= TARGET_MS else 'MISSED'})")  # fmt: skip
        print(f"routed - litellm  p50 {over_litellm:+.2f} ms   (our routing, breaker, limits, budget, ledger)")
        print(f"ledger rows written: {LLMCall.objects.count()}")


if __name__ == "__main__":
    main()
