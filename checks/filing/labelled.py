"""Precision and recall of the matcher on a labelled set of (declared entry, file name) pairs.

The set is a TSV (group, entry, file, label): each group is one filing; label 1 pairs are the
truth, every other pair of the group is a negative. The matcher runs on each group as it would
on a filing (one-to-one, threshold from the policy) and its pairs are scored against the truth.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from ...core.policy import Policy
from .assign import assign
from .rules import score_names


@dataclass
class Measure:
    pairs: int = 0  # labelled rows
    truth: int = 0
    predicted: int = 0
    correct: int = 0
    missed_entries: list[str] = field(default_factory=list)  # a true entry left without a file
    wrong: list[tuple[str, str, str]] = field(default_factory=list)  # (entry, file, expected file)
    # Every (entry, file) pair of a group judged alone by its score (no one-to-one assignment).
    alone_true_pos: int = 0
    alone_false_pos: int = 0
    alone_false_neg: int = 0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.truth if self.truth else 1.0

    @property
    def alone_precision(self) -> float:
        found = self.alone_true_pos + self.alone_false_pos
        return self.alone_true_pos / found if found else 1.0

    @property
    def alone_recall(self) -> float:
        real = self.alone_true_pos + self.alone_false_neg
        return self.alone_true_pos / real if real else 1.0


def load_groups(path: Path) -> dict[str, list[tuple[str, str, int]]]:
    groups: dict[str, list[tuple[str, str, int]]] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        rows = [r for r in csv.reader(fh, delimiter="\t") if r and not r[0].startswith("#")]
    for group, entry, name, label in rows[1:]:
        groups.setdefault(group, []).append((entry.strip(), name.strip(), int(label)))
    return groups


def measure(path: Path, policy: Policy) -> Measure:
    result = Measure()
    for rows in load_groups(path).values():
        result.pairs += len(rows)
        entries = [e for e, _, _ in rows if e]
        names = [n for _, n, _ in rows if n]
        truth = {(e, n) for e, n, label in rows if label == 1 and e and n}
        result.truth += len(truth)
        scores = score_names(entries, names, policy)
        threshold = policy.filing.match_threshold
        seen: set[tuple[str, str]] = set()
        for i, e in enumerate(entries):
            for j, n in enumerate(names):
                if (e, n) in seen:
                    continue
                seen.add((e, n))
                above = scores[i][j] >= threshold
                real = (e, n) in truth
                result.alone_true_pos += above and real
                result.alone_false_pos += above and not real
                result.alone_false_neg += real and not above
        predicted = {(entries[i], names[j]) for i, j, _ in assign(scores, threshold)}
        result.predicted += len(predicted)
        result.correct += len(predicted & truth)
        matched_entries = {e for e, _ in predicted}
        expected = dict(truth)
        for e, n in truth:
            if e not in matched_entries:
                result.missed_entries.append(f"{e} → {n}")
        for e, n in predicted - truth:
            result.wrong.append((e, n, expected.get(e, "-")))
    return result
