"""What a checker returns: raw findings (rule id, parameters, location), before severity and language.

Checkers stay pure: they say *what* they saw; the pipeline looks up the severity in the policy
and renders the message from the rule registry in the reader's language. Only registered rules
may be raised: `Issues.add` refuses any other id (core/data/rules.toml).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..core.report import PageInfo, TextSummary
from ..core.rules import UnknownRuleError, rule_ids


@dataclass
class Issue:
    rule: str
    params: dict[str, Any] = field(default_factory=dict)
    location: dict[str, Any] = field(default_factory=dict)
    observed: Any = None
    expected: Any = None


class Issues(list[Issue]):
    """A list of issues with a convenient `add`."""

    def add(
        self,
        rule: str,
        *,
        location: dict[str, Any] | None = None,
        observed: Any = None,
        expected: Any = None,
        **params: Any,
    ) -> Issue:
        if rule not in rule_ids():
            raise UnknownRuleError(rule)
        issue = Issue(rule, params, location or {}, observed, expected)
        self.append(issue)
        return issue


@dataclass
class Inspection:
    """What a file's checks found, returned from the sandbox child: issues and report measurements."""

    format: str | None
    issues: Issues = field(default_factory=Issues)
    text: TextSummary | None = None
    pages: list[PageInfo] = field(default_factory=list)
    outline: dict[str, Any] | None = None
