"""`courtdoc check --html OUT.html`: the report page as one file that opens from disk.

The real command writes the page for the three files a person drops on the pre-check page; it is
opened in Chromium from file:// with the network off and every request other than the file
itself refused: its pictures show (decoded, naturalWidth > 0), a finding opens its page with the
evidence drawn over it, and the page's Content-Security-Policy forbids any network use.
Skipped only when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import html as markup
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from browser_support import chromium, need_chromium, three_files

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_chromium()
    work = tmp_path_factory.mktemp("html")
    files = three_files(work / "files")
    out = work / "есеп.html"
    done = subprocess.run(
        [sys.executable, "-m", "courtdoc.cli", "check", "--lang", "kk", "--html", str(out), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr  # the Arial document is rejected
    assert out.is_file(), done.stderr
    return out


def test_the_page_loads_nothing_from_anywhere(written: Path) -> None:
    html = written.read_text(encoding="utf-8")
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp is not None
    policy = markup.unescape(csp.group(1))
    assert "default-src 'none'" in policy and "connect-src 'none'" in policy and "img-src data:" in policy
    assert "'unsafe-inline'" not in policy  # the inline CSS and script are allowed by their hashes
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)
    assert '<link rel="stylesheet"' not in html and "<script src=" not in html


def test_opened_offline_it_shows_its_pictures_and_evidence(written: Path) -> None:
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="kk-KZ")
        context.set_offline(True)
        asked: list[str] = []

        def refuse(route: Any) -> None:
            asked.append(route.request.url)
            route.abort()

        context.route(re.compile(r"^(?!file:).*"), refuse)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.goto(written.as_uri())
        assert page.get_attribute("html", "lang") == "kk"
        verdicts = page.eval_on_selector_all(
            "#results li.file", "els => els.map(e => [e.querySelector('.name').textContent, e.dataset.verdict])"
        )
        assert verdicts == [["Арыз.docx", "accept"], ["Сенімхат.docx", "reject"], ["Түбіртек.jpg", "accept"]]
        page.wait_for_function("[...document.images].every(i => i.complete)")
        widths = page.eval_on_selector_all(".thumbs img", "els => els.map(e => e.naturalWidth)")
        assert len(widths) >= 3 and all(w > 0 for w in widths), widths
        # The Arial paragraph, outlined over its page.
        page.locator("li.file", has_text="Сенімхат.docx").locator("button.show-page").first.click()
        page.wait_for_selector("#page-dialog[data-shown=true]")
        picture = page.locator("#page-view img.page-picture")
        page.wait_for_function("document.querySelector('#page-view img').naturalWidth > 0")
        frame = picture.bounding_box()
        boxes = page.eval_on_selector_all(
            "#page-view svg.evidence .box", "els => els.map(e => e.getBoundingClientRect().toJSON())"
        )
        assert frame is not None and boxes
        for box in boxes:
            assert box["width"] > 0 and box["height"] > 0
            assert frame["x"] - 1 <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"] + 1
            assert frame["y"] - 1 <= box["y"] and box["y"] + box["height"] <= frame["y"] + frame["height"] + 1
        page.keyboard.press("Escape")
        assert not page.evaluate("document.getElementById('page-dialog').open")
        # The scan's skew line.
        page.locator("li.file", has_text="Түбіртек.jpg").locator("button.show-page").first.click()
        page.wait_for_selector("#page-dialog[data-shown=true]")
        assert page.locator("#page-view svg.evidence line.box").count() == 1
        assert "°" in str(page.text_content("#page-view svg.evidence text"))
        assert asked == [] and errors == []
        context.close()
