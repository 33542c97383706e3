"""The pages in a real browser (Debian's Chromium through Playwright) against `courtdoc serve`.

A person drops three files on the pre-check page in Kazakh and reads the three verdicts and the
Kazakh messages; the same by keyboard alone; axe-core finds no serious or critical violation on
the pre-check page or the report page; the `report_url` of a filing opens its report without an
API key, and a tampered, another filing's or an expired link does not.
Skipped only when /usr/bin/chromium is absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import (
    ServeProcess,
    chromium,
    drop_files,
    need_chromium,
    post_filing,
    run_axe,
    three_files,
    wait_done,
)
from courtdoc.infra.reportlinks import KEY_FILE, ReportLinks
from playwright.sync_api import expect

pytestmark = pytest.mark.timeout(600)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1100, "height": 900}
EXPECTED = {"Арыз.docx": "accept", "Сенімхат.docx": "reject", "Түбіртек.jpg": "accept"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    need_chromium()
    server = ServeProcess(tmp_path_factory.mktemp("serve") / "data", worker_threads=2)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return three_files(tmp_path_factory.mktemp("three"))


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Screenshots of the runs (docs/precheck-kk.png and docs/report-page.png were taken so)."""
    return tmp_path_factory.mktemp("screenshots")


def _verdicts(page: Any) -> dict[str, str]:
    return page.eval_on_selector_all(
        "#results li.file",
        "els => Object.fromEntries(els.map(e => [e.querySelector('.name').textContent, e.dataset.verdict]))",
    )


def _file_text(page: Any, name: str) -> str:
    return str(page.locator("#results li.file", has_text=name).text_content())


def _assert_kazakh_results(page: Any) -> None:
    assert _verdicts(page) == EXPECTED
    assert page.get_attribute("html", "lang") == "kk"
    arial = _file_text(page, "Сенімхат.docx")
    assert "қабылданбады" in arial and "түзету қажет" in arial
    assert "Arial 12 пт" in arial and "Times New Roman 14 пт қарпімен терілуі керек" in arial
    scan = _file_text(page, "Түбіртек.jpg")
    assert "қабылданды" in scan and "еңкейген" in scan and "қайта сканерлеңіз" in scan
    assert "ескертпе жоқ" in _file_text(page, "Арыз.docx")
    status = page.inner_text("#progress-status")
    assert status.startswith("Барлық файлдар тексерілді"), status
    assert page.locator("section.filing h3").inner_text() == "Өтініш тұтастай"


def test_drop_three_files_in_kazakh(browser: Any, serve: ServeProcess, files: list[Path], shots: Path) -> None:
    context = browser.new_context(viewport=PHONE, locale="kk-KZ", extra_http_headers={"Accept-Language": "kk"})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(serve.url + "/")
    assert page.locator("h1").inner_text() == "Құжаттарды беру алдында тексеру"
    drop_files(page, "#drop-zone", files)
    assert page.locator("#chosen li .name").all_inner_texts() == [p.name for p in files]
    page.fill("#declared", "Арыз\nСенімхат\nТүбіртек")
    page.click("#check")
    # Each file's verdict appears as it is checked, before the whole filing is done.
    page.wait_for_selector("#results li.file[data-verdict=accept], #results li.file[data-verdict=reject]")
    page.wait_for_selector("#results[data-done=true]", timeout=120_000)
    _assert_kazakh_results(page)
    assert page.locator("table.matching tbody tr").count() >= 3
    assert "/precheck/" in page.url
    page.screenshot(path=str(shots / "precheck-kk-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(shots / "precheck-kk.png"), full_page=True)
    assert (shots / "precheck-kk.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The results page itself (reloaded from its address) shows the same.
    page.reload()
    _assert_kazakh_results(page)
    assert not errors
    context.close()


def test_the_same_by_keyboard_alone(browser: Any, serve: ServeProcess, files: list[Path]) -> None:
    context = browser.new_context(viewport=PHONE, locale="kk-KZ", extra_http_headers={"Accept-Language": "kk"})
    page = context.new_page()
    page.goto(serve.url + "/")

    def tab_to(element_id: str, limit: int = 20) -> list[str]:
        seen = []
        for _ in range(limit):
            page.keyboard.press("Tab")
            current = page.evaluate("document.activeElement.id || document.activeElement.className")
            seen.append(current)
            if current == element_id:
                return seen
        raise AssertionError(f"Tab never reached #{element_id}: {seen}")

    assert tab_to("files")[0] == "skip"  # the first stop skips to the main content
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files([str(p) for p in files])
    assert page.locator("#chosen li").count() == 3
    # The remove buttons are on the way, named after their file.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Арыз.docx файлын алып тастау"
    tab_to("declared")
    page.keyboard.type("Арыз\nСенімхат\nТүбіртек")
    tab_to("lang")
    assert page.evaluate("document.activeElement.value") == "kk"
    tab_to("check")
    page.keyboard.press("Enter")
    expect(page.locator("#results-heading")).to_be_focused()  # focus follows to the results
    page.wait_for_selector("#results[data-done=true]", timeout=120_000)
    _assert_kazakh_results(page)
    context.close()


def test_axe_finds_nothing_serious_on_the_precheck_page(browser: Any, serve: ServeProcess, files: list[Path]) -> None:
    # The pages allow no inline script; axe is injected as one, so this context bypasses the CSP.
    context = browser.new_context(viewport=PHONE, locale="kk-KZ", bypass_csp=True)
    page = context.new_page()
    page.goto(serve.url + "/?lang=kk")
    assert run_axe(page) == []
    page.set_input_files("#files", [str(p) for p in files])
    page.click("#check")
    page.wait_for_selector("#results[data-done=true]", timeout=120_000)
    assert run_axe(page) == []  # with the results in it
    # The scan does find what it should: a control page with an unlabelled field and image.
    page.set_content('<html><body><img src="/static/favicon.svg"><input type="text"></body></html>')
    assert {v["id"] for v in run_axe(page)} >= {"image-alt", "label"}
    context.close()


def test_report_link_opens_without_api_key(browser: Any, serve: ServeProcess, files: list[Path], shots: Path) -> None:
    key = serve.api_key()
    accepted = post_filing(serve.url, key, files, lang="kk")
    report_url = accepted["report_url"]
    assert report_url.startswith(f"/r/{accepted['id']}/")
    status = wait_done(serve.url, key, accepted["id"])
    assert status["report_url"].startswith(f"/r/{accepted['id']}/")

    context = browser.new_context(viewport=DESKTOP, bypass_csp=True)  # no API key anywhere
    page = context.new_page()
    response = page.goto(serve.url + report_url)
    assert response is not None and response.status == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    assert page.locator("h1").inner_text() == "Өтінішті тексеру есебі"  # the filing's language
    assert _verdicts(page) == EXPECTED
    assert "Times New Roman 14 пт қарпімен терілуі керек" in _file_text(page, "Сенімхат.docx")
    page.screenshot(path=str(shots / "report-page.png"), full_page=True)
    assert run_axe(page) == []
    # ?lang= changes the page's own words, not the report's.
    page.goto(serve.url + report_url + "?lang=ru")
    assert page.locator("h1").inner_text() == "Отчёт о проверке заявления"
    context.close()


def test_tampered_foreign_and_expired_links(browser: Any, serve: ServeProcess, files: list[Path]) -> None:
    key = serve.api_key()
    first = post_filing(serve.url, key, files[:1])
    second = post_filing(serve.url, key, files[1:2])
    wait_done(serve.url, key, first["id"])
    _, _, fid, expires, sig = first["report_url"].split("/")
    _, _, other_fid, other_expires, other_sig = second["report_url"].split("/")
    flipped = sig[:-1] + ("A" if sig[-1] != "A" else "B")
    secret = bytes.fromhex((serve.data_dir / KEY_FILE).read_text().strip())
    expired = ReportLinks(secret, ttl_s=-3600).path(fid)

    context = browser.new_context(locale="kk-KZ")
    page = context.new_page()
    cases = {
        f"/r/{fid}/{expires}/{flipped}": 404,  # a changed signature
        f"/r/{fid}/{int(expires) + 86400}/{sig}": 404,  # a later expiry with the old signature
        f"/r/{fid}/{other_expires}/{other_sig}": 404,  # another filing's signature
        f"/r/{other_fid}/{expires}/{sig}": 404,
        expired: 410,
    }
    for path, code in cases.items():
        response = page.goto(serve.url + path + "?lang=kk")
        assert response is not None and response.status == code, path
    assert page.locator("h1").inner_text() == "Сілтеменің мерзімі өтті"
    assert "«Сот кабинетінен»" in page.inner_text("main")
    context.close()

