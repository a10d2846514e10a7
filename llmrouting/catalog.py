"""What Architect knows about each provider kind: defaults to seed, and LiteLLM's price map.

The price map is read from the JSON file LiteLLM ships, not by importing litellm (3 s, 176 MB), so
admin forms and migrations can prefill prices cheaply.
"""

import functools
import json
from decimal import Decimal
from importlib.util import find_spec
from pathlib import Path

# Seeded providers: disabled until a key (or, for local servers, an endpoint) is set. Model names are
# those LiteLLM's bundled price map knows; prices are per million tokens, copied from that map.
DEFAULT_PROVIDERS = [
    {
        "name": "OpenAI",
        "kind": "openai",
        "api_base": "",
        "deployments": [
            ("openai/gpt-5-nano", "cheap", 272_000, "0.05", "0.40", ["code", "json", "vision"]),
            ("openai/gpt-5-mini", "standard", 272_000, "0.25", "2.00", ["code", "json", "vision"]),
            ("openai/gpt-5", "premium", 272_000, "1.25", "10.00", ["code", "json", "vision"]),
        ],
    },
    {
        "name": "Anthropic",
        "kind": "anthropic",
        "api_base": "",
        "deployments": [
            ("anthropic/claude-haiku-4-5", "cheap", 200_000, "1.00", "5.00", ["code", "json", "vision"]),
            ("anthropic/claude-sonnet-4-5", "standard", 200_000, "3.00", "15.00", ["code", "json", "vision"]),
            ("anthropic/claude-opus-4-1", "premium", 200_000, "15.00", "75.00", ["code", "json", "vision"]),
        ],
    },
    {
        "name": "Google Gemini",
        "kind": "gemini",
        "api_base": "",
        "deployments": [
            ("gemini/gemini-2.5-flash-lite", "cheap", 1_048_576, "0.10", "0.40", ["code", "json", "vision"]),
            ("gemini/gemini-2.5-flash", "standard", 1_048_576, "0.30", "2.50", ["code", "json", "vision"]),
            ("gemini/gemini-2.5-pro", "premium", 1_048_576, "1.25", "10.00", ["code", "json", "vision"]),
        ],
    },
    {
        "name": "Perplexity",
        "kind": "perplexity",
        "api_base": "",
        "deployments": [
            ("perplexity/sonar", "cheap", 128_000, "1.00", "1.00", ["web"]),
            ("perplexity/sonar-pro", "standard", 200_000, "3.00", "15.00", ["web"]),
        ],
    },
    {
        "name": "Ollama (local)",
        "kind": "ollama",
        "api_base": "http://127.0.0.1:11434",
        "deployments": [
            ("ollama_chat/llama3.2", "cheap", 128_000, "0", "0", ["json"]),
            ("ollama_chat/qwen2.5-coder", "cheap", 32_768, "0", "0", ["code", "json"]),
        ],
    },
    {
        "name": "AnythingLLM (local)",
        "kind": "anythingllm",
        "api_base": "http://127.0.0.1:3001/api/v1/openai",
        "deployments": [("openai/my-workspace", "cheap", 32_768, "0", "0", [])],
    },
]

# The offline demo provider: answers locally with simulated, non-zero prices, so `make run` shows
# routing and costs without keys. Enabled from the start; never chosen once a real provider is enabled.
DEMO_PROVIDER = {
    "name": "Demo (simulated)",
    "kind": "demo",
    "api_base": "",
    "deployments": [
        ("demo/swift-mini", "cheap", 128_000, "0.15", "0.60", ["code", "json"]),
        ("demo/steady", "standard", 200_000, "1.00", "4.00", ["code", "json", "vision"]),
        ("demo/sage-large", "premium", 200_000, "5.00", "20.00", ["code", "json", "vision", "web"]),
    ],
}


@functools.cache
def _price_map() -> dict:
    spec = find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations))) / "model_prices_and_context_window_backup.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def known_prices(model: str) -> tuple[Decimal, Decimal, int | None] | None:
    """(input $/Mtok, output $/Mtok, context window) from LiteLLM's price map, or None when unknown."""
    prices = _price_map()
    bare = model.split("/", 1)[1] if "/" in model else model
    entry = prices.get(model) or prices.get(bare)
    if not entry or entry.get("input_cost_per_token") is None:
        return None
    per_million = Decimal(1_000_000)
    input_price = (Decimal(str(entry["input_cost_per_token"])) * per_million).normalize()
    output_price = (Decimal(str(entry.get("output_cost_per_token") or 0)) * per_million).normalize()
    return input_price, output_price, entry.get("max_input_tokens")


def seed_defaults(provider_model, deployment_model, health_model) -> None:
    """Create the default providers (idempotent by name); used by the data migration and tests."""
    for spec in [*DEFAULT_PROVIDERS, DEMO_PROVIDER]:
        provider, created = provider_model.objects.get_or_create(
            name=spec["name"],
            defaults={"kind": spec["kind"], "api_base": spec["api_base"], "enabled": spec["kind"] == "demo"},
        )
        for model, tier, window, input_price, output_price, capabilities in spec["deployments"]:
            deployment, _ = deployment_model.objects.get_or_create(
                provider=provider,
                model=model,
                defaults={
                    "tier": tier,
                    "context_window": window,
                    "input_price": Decimal(input_price),
                    "output_price": Decimal(output_price),
                    "capabilities": capabilities,
                },
            )
            health_model.objects.get_or_create(deployment=deployment)
