"""The resume index of a bulk run is a cache of results.jsonl: an index of an earlier layout,
or a damaged one, is rebuilt from the lines without checking anything again."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from bulk_fixtures import run_here
from courtdoc.bulk import filings as bulk_filings


def test_an_index_of_the_earlier_layout_is_rebuilt_without_checking_again(
    tmp_path: Path, small_archive: Path, small_reference: Path, bulk_policy: Path, bulk_pool: Any
) -> None:
    out = tmp_path / "out"
    run_here([small_archive], out, bulk_policy, bulk_pool)
    db = sqlite3.connect(out / "index.sqlite")
    # The earlier layout: no line positions, no layout mark.
    db.executescript(
        "DROP INDEX done_by_filing; ALTER TABLE done DROP COLUMN pos; ALTER TABLE done DROP COLUMN len; "
        "DELETE FROM meta WHERE k='layout';"
    )
    db.close()
    stats, totals = run_here([small_archive], out, bulk_policy, bulk_pool)
    assert stats.fresh == 0 and stats.replayed == 0
    assert stats.already_done == totals["files"] == 400
    assert (out / "summary.json").read_bytes() == (small_reference / "summary.json").read_bytes()
    assert (out / bulk_filings.FILINGS).read_bytes() == (small_reference / bulk_filings.FILINGS).read_bytes()


def test_a_damaged_index_is_set_aside_and_rebuilt(
    tmp_path: Path, small_archive: Path, small_reference: Path, bulk_policy: Path, bulk_pool: Any
) -> None:
    out = tmp_path / "out"
    run_here([small_archive], out, bulk_policy, bulk_pool)
    index = out / "index.sqlite"
    index.write_bytes(b"this is not a database" * 100)
    stats, totals = run_here([small_archive], out, bulk_policy, bulk_pool)
    # Every line is known again from results.jsonl, and no file is left to check.
    assert stats.fresh == 0 and stats.replayed == 0
    assert stats.already_done == totals["files"] == 400
    assert list(out.glob("index.sqlite.damaged-*"))
    # The recorded contents came back from records.log: copies would still be replayed.
    records = (out / "records.log").read_bytes().count(b"\n")
    db = sqlite3.connect(out / "index.sqlite")
    assert records > 200
    assert db.execute("SELECT COUNT(*) FROM contents").fetchone()[0] == records
    db.close()
    assert (out / "summary.json").read_bytes() == (small_reference / "summary.json").read_bytes()
    assert (out / bulk_filings.FILINGS).read_bytes() == (small_reference / bulk_filings.FILINGS).read_bytes()
