"""Seed profiles for the common agent CLIs. Patterns are data: edit them in the admin when a CLI changes."""

from django.db import migrations

# Prompts never answered automatically, whatever the allow rules say.
DENY = [
    r"git\s+push\b.*(\s--force\b|\s-f\b|\s--force-with-lease\b|\s\+\S)",
    r"git\s+(reset\s+--hard|clean\s+-\w*f|branch\s+-D|checkout\s+--\s)",
    r"\brm\s+(-\w+\s+)*(/|~|\.\./|\$HOME)",
    r"(?i)outside (of )?(the )?(working directory|worktree|project)",
    r"(?i)\b(secrets?|credentials?|passwords?|api[_ -]?keys?|private[_ ]keys?)\b",
    r"\.env\b|id_rsa|id_ed25519|\.ssh/|\.aws/|\.netrc|\.npmrc|\.pypirc",
    r"\bsudo\s|\bchmod\s+-R\s+777\b|\bcurl\b[^|\n]*\|\s*(ba)?sh\b",
]
TOKENS_IN_OUT = r"(?P<prompt>[\d.,]+[kKmM]?) input tokens?\D{0,20}(?P<completion>[\d.,]+[kKmM]?) output tokens?"

PROFILES = [
    {
        "name": "claude",
        "label": "Claude Code",
        "command": "claude",
        "is_default": True,
        "skills": ["code"],
        "submit_mode": "paste",
        "submit_keys": ["Enter"],
        "interrupt_keys": ["Escape"],
        "busy_patterns": [r"esc to interrupt", r"ctrl\+c to interrupt"],
        "idle_patterns": [r"^[\s│]*>( |$)", r"\? for shortcuts"],
        "confirm_patterns": [
            r"Do you want to (proceed|make this edit|create|allow)",
            r"No, and tell Claude what to do differently",
            r"Yes, allow once",
            r"Do you trust the files in this folder\?",
        ],
        "error_patterns": [r"API Error", r"^\s*Error:", r"Credit balance is too low"],
        "finished_patterns": [],
        "token_patterns": [TOKENS_IN_OUT],
        "auto_confirm_rules": [
            {"pattern": r"Do you trust the files in this folder\?", "keys": ["Enter"]},
            {"pattern": r"Do you want to (proceed|make this edit|create)", "keys": ["Enter"]},
        ],
    },
    {
        "name": "codex",
        "label": "Codex CLI",
        "command": "codex",
        "enabled": False,
        "submit_mode": "paste",
        "submit_keys": ["Enter"],
        "interrupt_keys": ["Escape"],
        "busy_patterns": [r"esc to interrupt", r"Working \(\d+s"],
        "idle_patterns": [r"^[\s▌]*›( |$)", r"^▌\s*$", r"send\s+.*newline"],
        "confirm_patterns": [
            r"Allow command\?",
            r"Would you like to (run the following command|make the following edits)\?",
            r"Yes, proceed",
            r"Yes \(y\)",
        ],
        "error_patterns": [r"stream error", r"^\s*(■|error:)"],
        "finished_patterns": [],
        "token_patterns": [
            r"Token usage: total=[\d,]+ input=(?P<prompt>[\d,]+).*?output=(?P<completion>[\d,]+)",
            TOKENS_IN_OUT,
        ],
        "auto_confirm_rules": [
            {"pattern": r"Would you like to make the following edits\?", "keys": ["y"]},
        ],
    },
    {
        "name": "aider",
        "label": "Aider",
        "command": "aider --no-auto-commits --no-check-update --no-pretty",
        "enabled": False,
        "submit_mode": "type",
        "submit_keys": ["Enter"],
        "interrupt_keys": ["C-c"],
        "busy_patterns": [r"Waiting for", r"esc to interrupt"],
        "idle_patterns": [r"^(\w[\w-]* )?> ?$"],
        "confirm_patterns": [r"\(Y\)es/\(N\)o", r"\[Yes\]:\s*$"],
        "error_patterns": [r"litellm\.\w+Error", r"^\s*Error:"],
        "finished_patterns": [r"^Tokens: .* sent, .* received"],
        "token_patterns": [r"Tokens: (?P<prompt>[\d.,]+[kKmM]?) sent, (?P<completion>[\d.,]+[kKmM]?) received"],
        "auto_confirm_rules": [
            {"pattern": r"(Add (file|url|these files) to the chat|Create new file|Apply edits)\?", "keys": ["y", "Enter"]},
        ],
    },
    {
        "name": "gemini",
        "label": "Gemini CLI",
        "command": "gemini",
        "enabled": False,
        "submit_mode": "paste",
        "submit_keys": ["Enter"],
        "interrupt_keys": ["Escape"],
        "busy_patterns": [r"esc to cancel", r"esc to interrupt"],
        "idle_patterns": [r"^[\s│]*>( |$)", r"Type your message"],
        "confirm_patterns": [r"Allow execution\?", r"Apply this change\?", r"Yes, allow once", r"Yes, allow always"],
        "error_patterns": [r"\[API Error", r"^\s*✕"],
        "finished_patterns": [],
        "token_patterns": [TOKENS_IN_OUT],
        "auto_confirm_rules": [{"pattern": r"Apply this change\?", "keys": ["Enter"]}],
    },
    {
        "name": "bash",
        "label": "Shell (bash)",
        "command": "bash --norc --noprofile -i",
        "environment": {"PS1": "architect$ ", "TERM": "xterm-256color"},
        "skills": ["shell"],
        "submit_mode": "type",
        "prompt_template": "{prompt}; printf '\\n__ARCHITECT_DONE__ %s\\n' \"$?\"",
        "submit_keys": ["Enter"],
        "interrupt_keys": ["C-c"],
        "busy_patterns": [],
        "idle_patterns": [r"^architect\$ ?$"],
        "confirm_patterns": [r"\[[yY]/[nN]\]\s*\??\s*$", r"\(yes/no(/\[fingerprint\])?\)\??\s*$"],
        "error_patterns": [r"^__ARCHITECT_DONE__ [1-9]\d*$"],
        "finished_patterns": [r"^__ARCHITECT_DONE__ \d+$"],
        "token_patterns": [],
        "auto_confirm_rules": [],
    },
]


def seed(apps, schema_editor):
    AgentProfile = apps.get_model("sessions_pool", "AgentProfile")
    for fields in PROFILES:
        data = {"deny_patterns": DENY, **fields}
        AgentProfile.objects.update_or_create(name=data.pop("name"), defaults=data)


def unseed(apps, schema_editor):
    AgentProfile = apps.get_model("sessions_pool", "AgentProfile")
    AgentProfile.objects.filter(name__in=[p["name"] for p in PROFILES], sessions__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("sessions_pool", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
