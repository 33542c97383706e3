"""One-to-one assignment of declared entries to files that maximises the total similarity.

A small Hungarian algorithm (Kuhn–Munkres, O(n³)) on a rectangular score matrix; pairs scoring
below the threshold are never kept, so an entry that resembles no file stays unmatched instead
of taking whatever file is left over.
"""

from __future__ import annotations

from collections.abc import Sequence


def _hungarian_min(cost: list[list[float]]) -> list[int]:
    """Row → column of a minimum-cost assignment of a square matrix (e-maxx formulation)."""
    n = len(cost)
    inf = float("inf")
    u = [0.0] * (n + 1)
    v = [0.0] * (n + 1)
    p = [0] * (n + 1)
    way = [0] * (n + 1)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv = [inf] * (n + 1)
        used = [False] * (n + 1)
        while True:
            used[j0] = True
            i0 = p[j0]
            delta = inf
            j1 = 0
            row = cost[i0 - 1]
            for j in range(1, n + 1):
                if not used[j]:
                    cur = row[j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j] = cur
                        way[j] = j0
                    if minv[j] < delta:
                        delta = minv[j]
                        j1 = j
            for j in range(n + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    assignment = [-1] * n
    for j in range(1, n + 1):
        if p[j]:
            assignment[p[j] - 1] = j - 1
    return assignment


def assign(scores: Sequence[Sequence[float]], threshold: float) -> list[tuple[int, int, float]]:
    """Pairs (row, column, score) of a one-to-one assignment maximising the sum of scores,
    keeping only pairs with score >= threshold. `scores` is rows × columns, any shape."""
    rows = len(scores)
    cols = len(scores[0]) if rows else 0
    if rows == 0 or cols == 0:
        return []
    n = max(rows, cols)
    # Scores under the threshold count as nothing, so they never displace a real pair.
    cost = [[0.0] * n for _ in range(n)]
    for i in range(rows):
        for j in range(cols):
            s = scores[i][j]
            cost[i][j] = -s if s >= threshold else 0.0
    result = []
    for i, j in enumerate(_hungarian_min(cost)):
        if i < rows and 0 <= j < cols and scores[i][j] >= threshold:
            result.append((i, j, scores[i][j]))
    return result
