"""Agent profiles (how to run and read an agent CLI) and the tmux sessions running them."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

PATTERN_FIELDS = ("busy_patterns", "idle_patterns", "confirm_patterns", "error_patterns", "finished_patterns")


def _pattern_list(value, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
        raise ValidationError({field: "A list of regular expressions (non-empty strings)."})
    for pattern in value:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValidationError({field: f"{pattern!r} is not a valid regular expression: {exc}"}) from exc
    return value


def _key_list(value, field: str) -> None:
    if not isinstance(value, list) or not all(isinstance(k, str) and k for k in value):
        raise ValidationError({field: 'A list of tmux key names, e.g. ["Enter"] or ["y", "Enter"].'})


class AgentProfile(models.Model):
    """One agent CLI: its command, how to type a prompt into it, and how to read its screen.

    Patterns are regular expressions matched line by line against the pane; they
    are data because agent CLIs change their wording with every release.
    """

    class Submit(models.TextChoices):
        TYPE = "type", "Type the text (newlines become spaces), then the submit keys"
        PASTE = "paste", "Bracketed paste (keeps newlines), then the submit keys"

    name = models.SlugField(max_length=50, unique=True)
    label = models.CharField(max_length=100, blank=True)
    command = models.CharField(max_length=500, help_text="Shell command started in the session's pane.")
    environment = models.JSONField(default=dict, blank=True, help_text="Extra environment variables (not secrets).")
    enabled = models.BooleanField(default=True, help_text="Only enabled profiles get sessions.")
    is_default = models.BooleanField(default=False, help_text="Used for agent tasks that name no profile.")
    skills = models.JSONField(default=list, blank=True, help_text="Task skills this profile serves.")

    submit_mode = models.CharField(max_length=10, choices=Submit.choices, default=Submit.TYPE)
    prompt_template = models.TextField(default="{prompt}", help_text="{prompt} is replaced by the task's prompt.")
    submit_keys = models.JSONField(default=list, blank=True, help_text='Keys sent after the text, e.g. ["Enter"].')
    interrupt_keys = models.JSONField(default=list, blank=True, help_text='Keys that stop a turn, e.g. ["Escape"].')

    busy_patterns = models.JSONField(default=list, blank=True)
    idle_patterns = models.JSONField(default=list, blank=True)
    confirm_patterns = models.JSONField(default=list, blank=True)
    error_patterns = models.JSONField(default=list, blank=True)
    finished_patterns = models.JSONField(default=list, blank=True)
    token_patterns = models.JSONField(
        default=list, blank=True, help_text="Regexes with named groups 'prompt' and 'completion' (k/M suffixes read)."
    )
    auto_confirm_rules = models.JSONField(
        default=list,
        blank=True,
        help_text='Prompts that may be answered: [{"pattern": "Do you want to proceed\\\\?", "keys": ["Enter"]}].',
    )
    deny_patterns = models.JSONField(
        default=list, blank=True, help_text="Prompts never answered automatically; deny wins over every rule."
    )

    min_sessions = models.PositiveSmallIntegerField(default=2)
    max_sessions = models.PositiveSmallIntegerField(default=10, validators=[MinValueValidator(1)])
    idle_timeout_seconds = models.PositiveIntegerField(default=1800, validators=[MinValueValidator(1)])
    startup_timeout_seconds = models.PositiveIntegerField(default=60, validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.label or self.name

    def clean(self):
        super().clean()
        for field in (*PATTERN_FIELDS, "token_patterns", "deny_patterns"):
            _pattern_list(getattr(self, field), field)
        for field in ("submit_keys", "interrupt_keys"):
            if getattr(self, field):
                _key_list(getattr(self, field), field)
        self._clean_rules()
        if not isinstance(self.environment, dict) or not all(isinstance(v, str) for v in self.environment.values()):
            raise ValidationError({"environment": "An object of string values."})
        if self.min_sessions > self.max_sessions:
            raise ValidationError({"min_sessions": "The minimum cannot be above the maximum."})
        if "{prompt}" not in self.prompt_template:
            raise ValidationError({"prompt_template": "The template must contain {prompt}."})

    def _clean_rules(self) -> None:
        rules = self.auto_confirm_rules
        if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
            raise ValidationError({"auto_confirm_rules": 'A list of {"pattern": ..., "keys": [...]} objects.'})
        for rule in rules:
            _pattern_list([rule.get("pattern")], "auto_confirm_rules")
            _key_list(rule.get("keys"), "auto_confirm_rules")


class SessionState(models.TextChoices):
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    WAITING_CONFIRMATION = "waiting_confirmation"
    ERROR = "error"
    STOPPED = "stopped"


LIVE_STATES = frozenset(
    {SessionState.STARTING, SessionState.IDLE, SessionState.BUSY, SessionState.WAITING_CONFIRMATION, SessionState.ERROR}
)


class AgentSession(models.Model):
    """A tmux session on Architect's private socket running one profile's agent."""

    profile = models.ForeignKey(AgentProfile, on_delete=models.PROTECT, related_name="sessions")
    name = models.CharField(max_length=100, unique=True, help_text="The tmux session name.")
    state = models.CharField(max_length=30, choices=SessionState.choices, default=SessionState.STARTING)
    task = models.ForeignKey(
        "projects.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="agent_sessions"
    )
    workdir = models.CharField(max_length=500, blank=True, help_text="Directory the agent was started in.")
    home_dir = models.CharField(max_length=500, blank=True, help_text="The session's own directory between tasks.")

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True, help_text="Last change on the screen.")
    stopped_at = models.DateTimeField(null=True, blank=True)

    last_output = models.TextField(blank=True, help_text="The last lines on the screen.")
    screen_hash = models.CharField(max_length=64, blank=True)
    alert = models.TextField(blank=True, help_text="The prompt waiting for a person, if any.")
    last_error = models.TextField(blank=True)
    restarts = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)

    # The turn in progress: where on the pane it began, and what was seen since.
    turn_started_at = models.DateTimeField(null=True, blank=True)
    turn_start_line = models.IntegerField(null=True, blank=True)
    turn_seen_busy = models.BooleanField(default=False)
    # Claims that make each prompt answered (or alerted) exactly once across processes.
    answered_key = models.CharField(max_length=64, blank=True)
    alerted_key = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["profile__name", "id"]
        indexes = [
            # The dispatch claim: idle sessions of a profile without a task, least recently used first.
            models.Index(fields=["profile", "state", "last_activity_at"], name="session_claim_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES
