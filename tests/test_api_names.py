"""File names: UTF-8 or refused, at most 255 bytes, NFC once at intake (API and CLI), collisions found.

The API cases send real multipart bodies (raw bytes where a name is not UTF-8) to the real app
on uvicorn; the CLI case checks real files whose names differ only in Unicode form, as a filer
on macOS (NFD) and one on Windows (NFC) would name them.
"""

from __future__ import annotations

import io
import json
import unicodedata
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import httpx
import pytest
from courtdoc.checks.filing.metadata import parse_metadata
from courtdoc.checks.filing.rules import FiledDocument, check_filing
from courtdoc.checks.findings import Issues
from courtdoc.cli.main import main
from courtdoc.core.filenames import MAX_NAME_BYTES, BadFilename, name_from_bytes, normalize_name
from courtdoc.core.policy import load_policy
from courtdoc.workers.runtime import Runtime
from service_harness import ApiServer, Portal, running_api, service_settings, write_clients

BOUNDARY = "names-boundary-0c41"
NFC = "Заявление о пересмотре й.pdf"
NFD = unicodedata.normalize("NFD", NFC)


@pytest.fixture
def api(tmp_path: Path, redis_server, redis_namespace: str) -> Iterator[tuple[Runtime, ApiServer, Portal]]:
    portal = write_clients(tmp_path / "clients.toml")
    settings = service_settings(tmp_path, redis_server.url, redis_namespace, tmp_path / "clients.toml")
    with running_api(settings) as (rt, server):
        yield rt, server, portal


def _raw_post(server: ApiServer, key: str, filenames: list[bytes], external_id: str) -> httpx.Response:
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n'
            f"Content-Type: application/json\r\n\r\n"
        ).encode()
        + json.dumps({"external_id": external_id}).encode()
        + b"\r\n"
    )
    for i, name in enumerate(filenames):
        body += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="'.encode()
            + name
            + b'"\r\nContent-Type: application/pdf\r\n\r\n'
            + b"%%PDF-1.4 file %d\r\n" % i
        )
    body += f"--{BOUNDARY}--\r\n".encode()
    return httpx.post(
        f"{server.url}/v1/filings",
        content=body,
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        },
        timeout=30,
    )


def _stored_names(rt: Runtime, fid: str) -> list[str]:
    meta = rt.filings.meta(fid)
    assert meta is not None
    return [f["name"] for f in json.loads(meta["files"])]


@pytest.mark.parametrize(
    ("case", "raw"),
    [
        ("UTF-16 bytes (was read as Latin-1: ÿþÐ.pdf)", b"\xff\xfe\xd0.pdf"),
        ("Windows-1251", "Иск.pdf".encode("cp1251")),
        ("a lone continuation byte", b"\x80abc.pdf"),
        ("a 10 KB name", ("Д" * 5000 + ".pdf").encode()),
        ("256 bytes of UTF-8", ("Д" * 126 + ".pdf").encode()),
        ("only control characters", b"\x01\x02"),
    ],
)
def test_bad_names_are_bad_filename(api: tuple[Runtime, ApiServer, Portal], case: str, raw: bytes) -> None:
    rt, server, portal = api
    r = _raw_post(server, portal.key, [raw], "N-1")
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "bad_filename"
    assert rt.blobs.staging_files() == []
    assert list(rt.redis.scan_iter(f"{rt.keys.namespace}:filing:*")) == []


def test_a_name_of_255_bytes_is_accepted(api: tuple[Runtime, ApiServer, Portal]) -> None:
    rt, server, portal = api
    name = "Д" * 125 + "x.pdf"  # 250 + 1 + 4 = 255 bytes
    assert len(name.encode()) == MAX_NAME_BYTES
    r = _raw_post(server, portal.key, [name.encode()], "N-2")
    assert r.status_code == 202, r.text
    assert _stored_names(rt, r.json()["id"]) == [name]


def test_names_are_stored_in_nfc(api: tuple[Runtime, ApiServer, Portal]) -> None:
    rt, server, portal = api
    assert NFD != NFC
    r = _raw_post(server, portal.key, [NFD.encode(), NFC.encode()], "N-3")
    assert r.status_code == 202, r.text
    assert _stored_names(rt, r.json()["id"]) == [NFC, NFC]


def test_one_function_names_files_for_the_api_and_the_cli() -> None:
    assert normalize_name("C:\\Users\\filer\\" + NFD) == NFC
    assert name_from_bytes(("../../" + NFD).encode()) == NFC
    with pytest.raises(BadFilename):
        name_from_bytes(b"\xff\xfe\xd0.pdf")


def _collisions(names: list[str], digests: list[str]) -> list[dict[str, Any]]:
    issues = Issues()
    docs = [FiledDocument(n, d) for n, d in zip(names, digests, strict=True)]
    check_filing(docs, parse_metadata({}), load_policy(), issues)
    return [
        {"name": i.params["name"], "other": i.params["other"]}
        for i in issues
        if i.rule == "filing.name_collision"
    ]


def test_name_collision_rule() -> None:
    a, b = "a" * 64, "b" * 64
    assert _collisions([NFC, unicodedata.normalize("NFD", NFC)], [a, b]) == [{"name": NFD, "other": NFC}]
    assert _collisions(["Доверенность.pdf", "ДОВЕРЕННОСТЬ.PDF"], [a, b]) == [
        {"name": "ДОВЕРЕННОСТЬ.PDF", "other": "Доверенность.pdf"}
    ]
    assert _collisions(["Доверенность.pdf", "Доверенность 2.pdf"], [a, b]) == []
    # the same bytes under the same name is filing.duplicate, said once
    assert _collisions(["Доверенность.pdf", "Доверенность.pdf"], [a, a]) == []


def test_cli_normalises_names_and_reports_the_collision(tmp_path: Path) -> None:
    folder = tmp_path / "filing"
    folder.mkdir()
    (folder / NFC).write_bytes(b"%PDF-1.4 one\n")
    (folder / NFD).write_bytes(b"%PDF-1.4 two\n")  # on Linux both names live side by side
    assert len(list(folder.iterdir())) == 2
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["check", "--format", "json", "--lang", "ru", "--filing", str(folder)])
    assert code == 1
    report = json.loads(out.getvalue())
    assert [f["name"] for f in report["files"]] == [NFC, NFC]
    (finding,) = [f for f in report["findings"] if f["rule"] == "filing.name_collision"]
    assert finding["severity"] == "reject"
    assert "одним и тем же именем" in finding["message"]
    assert report["verdict"] == "reject"
