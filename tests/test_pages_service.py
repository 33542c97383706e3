"""The pages over HTTP, without a browser: the strings, report links, pre-check modes and limits,
`report_url` in the API's answers and the callback, and what a pre-check leaves behind (nothing).

The service runs for real: the app on uvicorn with worker threads against the tests' Redis, and
`courtdoc serve` itself for the lifetime test.
"""

from __future__ import annotations

import contextlib
import json
import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser_support import ServeProcess, post_precheck, three_files
from courtdoc.infra.reportlinks import KEY_FILE, ReportLinks, report_links
from courtdoc.service.pages.strings import LANGS, catalogue, pick_lang, t
from courtdoc.workers.runner import start_worker
from courtdoc.workers.runtime import Runtime
from redis_server import RedisHandle
from service_harness import (
    Portal,
    Receiver,
    get_filing,
    post_filing,
    running_api,
    service_settings,
    wait_until,
    write_clients,
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return three_files(tmp_path_factory.mktemp("three"))


# --- strings ------------------------------------------------------------------------------------------


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_page_string_is_in_three_languages_with_the_same_placeholders() -> None:
    strings = catalogue()
    assert len(strings) > 50
    for key, entry in strings.items():
        assert set(entry) == set(LANGS), key
        assert all(entry[lang].strip() for lang in LANGS), key
        assert _placeholders(entry["kk"]) == _placeholders(entry["ru"]) == _placeholders(entry["en"]), key
    # Kazakh text is Kazakh: its own letters appear in the strings written for it.
    kazakh = "".join(entry["kk"] for entry in strings.values())
    assert set("әғқңөұүі") <= set(kazakh)
    assert t("progress", "kk", done=1, total=3) == "Тексерілген файлдар: 3 ішінен 1."


@pytest.mark.parametrize(
    ("query", "header", "want"),
    [
        ("ru", "kk", "ru"),
        (None, "kk-KZ,kk;q=0.9,ru;q=0.8", "kk"),
        (None, "de-DE,ru;q=0.5,en;q=0.7", "en"),
        (None, "kz", "kk"),
        ("xx", "fr", "en"),
        (None, "ru;q=0,en;q=0.1", "en"),
        (None, None, "en"),
    ],
)
def test_the_readers_language(query: str | None, header: str | None, want: str) -> None:
    assert pick_lang(query, header, "en") == want


# --- report links --------------------------------------------------------------------------------------


def test_report_links_are_signed_per_filing_and_expire() -> None:
    links = ReportLinks(b"k" * 32, ttl_s=60)
    fid, other = "a" * 32, "b" * 32
    _, _, _, expires, sig = links.path(fid, now=1000).split("/")
    assert int(expires) == 1060
    assert links.verify(fid, expires, sig, now=1001) == "ok"
    assert links.verify(fid, expires, sig, now=1061) == "expired"
    assert links.verify(other, expires, sig, now=1001) == "invalid"
    assert links.verify(fid, str(int(expires) + 1), sig, now=1001) == "invalid"
    assert links.verify(fid, expires, sig[:-1] + ("A" if sig[-1] != "A" else "B"), now=1001) == "invalid"
    assert ReportLinks(b"x" * 32, ttl_s=60).verify(fid, expires, sig, now=1001) == "invalid"
    assert links.verify(fid, "12x", sig, now=1001) == "invalid"


def test_the_link_secret_is_made_once_private(tmp_path: Path, redis_server: RedisHandle) -> None:
    settings = service_settings(tmp_path, redis_server.url, "unused", tmp_path / "clients.toml")
    links = report_links(settings)
    key = settings.data_dir / KEY_FILE
    assert key.stat().st_mode & 0o777 == 0o600
    assert len(bytes.fromhex(key.read_text().strip())) == 32
    assert bytes.fromhex(key.read_text().strip()) == links.secret
    settings.report_link_secret = "configured-secret"
    assert report_links(settings).secret == b"configured-secret"


# --- the service with worker threads ------------------------------------------------------------------------


@pytest.fixture
def portal(tmp_path: Path) -> Portal:
    return write_clients(tmp_path / "clients.toml")


def _service(tmp_path: Path, redis_server: RedisHandle, namespace: str, **over: Any) -> Any:
    settings = service_settings(tmp_path, redis_server.url, namespace, tmp_path / "clients.toml", **over)
    return running_api(settings)


@contextlib.contextmanager
def _workers(rt: Runtime) -> Iterator[None]:
    """Worker threads as `courtdoc serve` runs them: intake's, and the precheck queue's apart."""
    workers = [start_worker(rt, ["intake", "callbacks"], 2), start_worker(rt, ["precheck"], 1)]
    try:
        yield
    finally:
        for worker in workers:
            worker.stop(timeout=30_000)


def test_report_url_in_answers_and_callback_opens_without_key(
    tmp_path: Path,
    redis_server: RedisHandle,
    redis_namespace: str,
    portal: Portal,
    files: list[Path],
) -> None:
    receiver = Receiver()
    try:
        with _service(tmp_path, redis_server, redis_namespace) as (rt, api), _workers(rt):
            metadata = {"external_id": "x-1", "lang": "ru", "callback_url": receiver.url}
            r = post_filing(api.url, portal.key, files, metadata)
            assert r.status_code == 202, r.text
            fid = r.json()["id"]
            assert re.fullmatch(rf"/r/{fid}/\d+/[A-Za-z0-9_-]{{43}}", r.json()["report_url"])
            wait_until(receiver.successes, 120, "the callback")
            payload = json.loads(receiver.successes()[0].body)
            status = get_filing(api.url, portal.key, fid)
            for url in (r.json()["report_url"], payload["data"]["report_url"], status["report_url"]):
                page = httpx.get(api.url + url, timeout=10)  # no API key
                assert page.status_code == 200, url
                assert "Отчёт о проверке заявления" in page.text
                assert all(p.name in page.text for p in files)
                assert page.headers["referrer-policy"] == "no-referrer"
            schema = httpx.get(api.url + "/openapi.json").json()["components"]["schemas"]
            for model in ("FilingAccepted", "FilingStatus", "CallbackData"):
                assert "report_url" in schema[model]["properties"], model
    finally:
        receiver.close()


def _wait_precheck(base: str, answer: dict[str, Any]) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        data: dict[str, Any] = httpx.get(base + answer["fragment_url"], timeout=10).json()
        return data if data.get("done") else None

    result: dict[str, Any] = wait_until(done, 120, "the pre-check", interval=0.2)
    return result


def test_precheck_modes_limits_and_messages(
    tmp_path: Path,
    redis_server: RedisHandle,
    redis_namespace: str,
    portal: Portal,
    files: list[Path],
) -> None:
    with (
        _service(
            tmp_path, redis_server, redis_namespace, precheck="key", precheck_per_minute=2, max_files=2
        ) as (rt, api),
        _workers(rt),
    ):
        page = httpx.get(api.url + "/", headers={"Accept-Language": "ru"})
        assert 'id="api-key"' in page.text and "API-ключ" in page.text
        refused = post_precheck(api.url, files[:1], lang="ru")
        assert refused.status_code == 401
        assert refused.json()["error"]["message"] == t("error_unauthorized", "ru")
        auth = {"Authorization": f"Bearer {portal.key}"}
        too_many = post_precheck(api.url, files, lang="kk", **auth)
        assert too_many.status_code == 422
        assert too_many.json()["error"]["message"] == t("error_too_many_files", "kk", max_files=2)
        ok = post_precheck(api.url, files[1:], lang="en", **auth)
        assert ok.status_code == 202, ok.text
        result = _wait_precheck(api.url, ok.json())
        assert "Сенімхат.docx" in result["html"] and "Arial 12 pt" in result["html"]
        assert result["status"] == t("all_done", "en", outcome="Filing: rejected")
        limited = post_precheck(api.url, files[:1], lang="kk", **auth)
        assert limited.status_code == 429
        assert limited.json()["error"]["message"] == t("error_rate_limited", "kk")
        assert 0 < int(limited.headers["retry-after"]) <= 60
        # Nothing of a pre-check reaches the audit reports or the intake's blobs.
        assert not list(rt.settings.report_dir.glob("**/*.json"))
        assert not list(rt.blobs.blobs())


def test_precheck_off(tmp_path: Path, redis_server: RedisHandle, redis_namespace: str, files: list[Path]) -> None:
    write_clients(tmp_path / "clients.toml")
    with _service(tmp_path, redis_server, redis_namespace, precheck="off") as (_, api):
        page = httpx.get(api.url + "/?lang=kk")
        assert page.status_code == 404 and t("precheck_off_text", "kk") in page.text
        assert post_precheck(api.url, files[:1]).status_code == 404


def test_nothing_of_a_precheck_is_left_after_its_lifetime(
    tmp_path: Path, redis_server: RedisHandle, redis_namespace: str, files: list[Path]
) -> None:
    data = tmp_path / "data"
    serve = ServeProcess(
        data,
        redis_url=redis_server.url,
        worker_threads=1,
        COURTDOC_NAMESPACE=redis_namespace,
        COURTDOC_PRECHECK="open",
        COURTDOC_PRECHECK_TTL_S="2",
    )
    try:
        answer = post_precheck(serve.url, files, lang="kk")
        assert answer.status_code == 202, answer.text
        pid = answer.json()["id"]
        result = _wait_precheck(serve.url, answer.json())
        assert "Түбіртек.jpg" in result["html"]
        client = redis_server.client()
        digests = {e["sha256"] for e in serve.events() if e.get("event") == "precheck.file_done"}
        assert len(digests) == 3

        def leftovers() -> list[str]:
            found = [str(p) for p in (data / "precheck").iterdir()] if (data / "precheck").exists() else []
            for key in client.scan_iter(f"{redis_namespace}:*"):
                kind = client.type(key)
                values = [key]
                if kind == "hash":
                    values += list(client.hgetall(key).values())
                elif kind == "string":
                    values.append(client.get(key) or "")
                elif kind == "list":
                    values += client.lrange(key, 0, -1)
                text = " ".join(values)
                if pid in text or any(d in text for d in digests) or any(p.name in text for p in files):
                    found.append(key)
            return found

        wait_until(lambda: not leftovers(), 30, "the pre-check to be gone", interval=0.5)
        gone = httpx.get(f"{serve.url}/precheck/{pid}?lang=kk")
        assert gone.status_code == 404
        assert t("precheck_gone_text", "kk", minutes=1) in gone.text  # 2 s rounds up to a minute
        assert not list(data.glob("reports/**/*.json"))
        # The log names the files by their sha256 only.
        log = "\n".join(serve.log)
        assert all(d in log for d in digests)
        assert not any(p.name in log or p.stem in log for p in files)
    finally:
        serve.stop()
