"""Approval rules as data: which finished work may be approved without a person.

A rule matches a review item when every condition it sets holds (blank conditions match anything):
project, executor kind, cost at most, lines changed at most, and a test-pass marker found in the
result or the log. Enabled rules are tried in position order; the first match approves and is
recorded on the item. No rules (the default) means nothing is auto-approved.
"""

from __future__ import annotations

from django.db import transaction

from autopilot.models import ApprovalRule, ReviewItem
from projects.services.events import event_record


def lines_changed(diff: str) -> int:
    """Added plus removed lines of a unified diff (file headers not counted)."""
    count = 0
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            continue
        if line.startswith(("+", "-")):
            count += 1
    return count


def mismatch(rule: ApprovalRule, item: ReviewItem) -> str:
    """Why RULE does not match ITEM ('' when it matches)."""
    if rule.project_id and rule.project_id != item.project_id:
        return "another project"
    if rule.executor and rule.executor != item.executor:
        return f"executor is {item.executor}, not {rule.executor}"
    if rule.max_cost is not None and item.cost > rule.max_cost:
        return f"cost ${item.cost} is above ${rule.max_cost}"
    if rule.max_lines_changed is not None and item.lines_changed > rule.max_lines_changed:
        return f"{item.lines_changed} lines changed, more than {rule.max_lines_changed}"
    if rule.test_marker and rule.test_marker not in item.result and rule.test_marker not in item.log:
        return f"no “{rule.test_marker}” in the result"
    return ""


def first_match(item: ReviewItem) -> ApprovalRule | None:
    for rule in ApprovalRule.objects.filter(enabled=True).order_by("position", "id"):
        if not mismatch(rule, item):
            return rule
    return None


def _event(rule: ApprovalRule, *, actor, verb: str) -> None:
    payload = {"id": rule.pk, "name": rule.name, "enabled": rule.enabled, "position": rule.position}
    event_record(actor=actor, type=f"review.rule.{verb}", obj=rule, project_id=rule.project_id, payload=payload)


@transaction.atomic
def rule_create(*, actor, **fields) -> ApprovalRule:
    rule = ApprovalRule(**fields)
    rule.full_clean()
    rule.save()
    _event(rule, actor=actor, verb="created")
    return rule


@transaction.atomic
def rule_update(rule: ApprovalRule, *, actor, **fields) -> ApprovalRule:
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.full_clean()
    rule.save()
    _event(rule, actor=actor, verb="updated")
    return rule


@transaction.atomic
def rule_delete(rule: ApprovalRule, *, actor) -> None:
    _event(rule, actor=actor, verb="deleted")
    rule.delete()
