"""The rules a policy applies, listed for people and for the API."""

from __future__ import annotations

from . import messages
from .policy import Policy


def rules_table(policy: Policy, lang: str) -> list[dict[str, str]]:
    return [
        {"rule": rule, "severity": severity, "description": messages.title(rule, lang)}
        for rule, severity in sorted(policy.rules.items())
    ]
