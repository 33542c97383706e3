"""The pages in a real browser (Debian's Chromium through Playwright) against `courtdoc serve`.

A person drops three files on the pre-check page in Kazakh and reads the three verdicts and the
Kazakh messages, sees each file's pages, and opens a finding on its page: the Arial paragraph
outlined over the page LibreOffice drew, the scan's skew drawn as a line along its text (SVG over
the picture); the same by keyboard alone (the dialog takes the focus, Escape gives it back);
axe-core finds no serious or critical violation on the pre-check page or the report page, with
the dialog open too; the `report_url` of a filing opens its report and its pictures without an
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


def _thumbs_drawn(page: Any) -> None:
    """Every file's strip shows its first page (lazy pictures are loaded as they come in sight)."""
    strips = page.locator("#results ul.thumbs")
    assert strips.count() == 3
    for i in range(3):
        strips.nth(i).scroll_into_view_if_needed()
        first = strips.nth(i).locator("img").first
        first.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=first.element_handle(), timeout=60_000)


def _open_on_page(page: Any, name: str) -> list[dict[str, float]]:
    """Open a file's first finding on its page; the drawn boxes, relative to the picture (0–1)."""
    page.locator("#results li.file", has_text=name).locator("button.show-page").first.click()
    return _shown_boxes(page)


def _shown_boxes(page: Any) -> list[dict[str, float]]:
    page.wait_for_selector("#page-dialog[data-shown=true]", timeout=120_000)
    page.wait_for_function("document.querySelector('#page-view img').naturalWidth > 0", timeout=60_000)
    frame = page.locator("#page-view img.page-picture").bounding_box()
    assert frame is not None and frame["width"] > 0
    rects = page.eval_on_selector_all(
        "#page-view svg.evidence .box", "els => els.map(e => e.getBoundingClientRect().toJSON())"
    )
    return [
        {
            "x": (r["x"] - frame["x"]) / frame["width"],
            "y": (r["y"] - frame["y"]) / frame["height"],
            "w": r["width"] / frame["width"],
            "h": r["height"] / frame["height"],
        }
        for r in rects
    ]


def _assert_on_the_page(boxes: list[dict[str, float]]) -> None:
    assert boxes
    for box in boxes:
        assert box["w"] > 0 and box["h"] > 0, box
        assert box["x"] >= -0.01 and box["x"] + box["w"] <= 1.01, box
        assert box["y"] >= -0.01 and box["y"] + box["h"] <= 1.01, box


def _assert_arial_paragraph(page: Any, boxes: list[dict[str, float]]) -> None:
    """The Arial document's first paragraph: lines of text across the page, near its top."""
    _assert_on_the_page(boxes)
    assert page.locator("#page-view svg.evidence rect.box").count() == len(boxes) >= 2
    assert all(0.05 < b["y"] < 0.4 and b["w"] > 0.3 and b["h"] < 0.05 for b in boxes), boxes
    assert "қызыл жиекпен белгіленген" in page.inner_text("#page-dialog-note")
    assert page.inner_text("#page-dialog-title") == "Сенімхат.docx — 1-бет"


def _assert_skew_line(page: Any, boxes: list[dict[str, float]]) -> None:
    """The scan's skew: one line across most of the text, rising to the right, its angle beside it."""
    (line,) = boxes
    _assert_on_the_page([line])
    assert page.locator("#page-view svg.evidence line.box").count() == 1
    assert line["w"] > 0.6 and 0.05 < line["h"] < 0.3
    assert str(page.text_content("#page-view svg.evidence text")).startswith("+7.")


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
    _thumbs_drawn(page)  # each file's pages
    page.screenshot(path=str(shots / "precheck-kk-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(shots / "precheck-kk.png"), full_page=True)
    assert (shots / "precheck-kk.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Each finding on its page.
    arial = _open_on_page(page, "Сенімхат.docx")
    _assert_arial_paragraph(page, arial)
    page.screenshot(path=str(shots / "evidence-docx-kk.png"))
    page.keyboard.press("Escape")
    assert not page.evaluate("document.getElementById('page-dialog').open")
    skew = _open_on_page(page, "Түбіртек.jpg")
    _assert_skew_line(page, skew)
    page.screenshot(path=str(shots / "evidence-scan-kk.png"))
    page.click("#page-dialog [data-close]")
    # A page of the strip opens large, with nothing drawn over it.
    page.locator("#results li.file", has_text="Арыз.docx").locator("button.thumb").first.click()
    assert _shown_boxes(page) == []
    assert page.inner_text("#page-dialog-title") == "Арыз.docx — 1-бет"
    page.keyboard.press("Escape")
    # At phone width the dialog fits the screen.
    page.set_viewport_size(PHONE)
    _open_on_page(page, "Сенімхат.docx")
    dialog = page.locator("#page-dialog").bounding_box()
    assert dialog is not None and dialog["width"] <= PHONE["width"]
    page.screenshot(path=str(shots / "evidence-docx-kk-phone.png"))
    page.keyboard.press("Escape")
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
    # On by Tab to the Arial document's finding; Enter opens it on its page.
    on_finding = "document.activeElement.matches('button.show-page') && document.activeElement.closest('li.file').querySelector('.name').textContent"
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate(on_finding) == "Сенімхат.docx":
            break
    else:
        raise AssertionError("Tab never reached the Arial document's finding")
    page.keyboard.press("Enter")
    expect(page.locator("#page-dialog [data-close]")).to_be_focused()  # the dialog has the focus
    _assert_arial_paragraph(page, _shown_boxes(page))
    page.keyboard.press("Tab")  # the focus stays in the dialog
    assert page.evaluate("!!document.activeElement.closest('#page-dialog') || document.activeElement === document.body")
    page.keyboard.press("Escape")
    assert not page.evaluate("document.getElementById('page-dialog').open")
    assert page.evaluate(on_finding) == "Сенімхат.docx"  # back where the reader was
    # The scan's finding, by keyboard too.
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate(on_finding) == "Түбіртек.jpg":
            break
    else:
        raise AssertionError("Tab never reached the scan's finding")
    page.keyboard.press("Enter")
    _assert_skew_line(page, _shown_boxes(page))
    page.keyboard.press("Escape")
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
    _open_on_page(page, "Сенімхат.docx")
    assert run_axe(page) == []  # with a finding open on its page
    page.keyboard.press("Escape")
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
    # The signed link opens the report's pictures and evidence too.
    _thumbs_drawn(page)
    _assert_skew_line(page, _open_on_page(page, "Түбіртек.jpg"))
    assert run_axe(page) == []
    page.keyboard.press("Escape")
    _assert_arial_paragraph(page, _open_on_page(page, "Сенімхат.docx"))
    page.keyboard.press("Escape")
    picture = page.request.get(serve.url + report_url + "/pictures/2/1.png?w=240")
    assert picture.status == 200 and picture.body()[:8] == b"\x89PNG\r\n\x1a\n"
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
        # A link that does not open the report does not open its pictures or evidence either.
        for part in ("/pictures/0/1.png?w=240", "/evidence/0/page-1.json"):
            answer = page.request.get(serve.url + path + part)
            assert answer.status == code, path + part
    assert page.locator("h1").inner_text() == "Сілтеменің мерзімі өтті"
    assert "«Сот кабинетінен»" in page.inner_text("main")
    context.close()

