#!/usr/bin/env bash
# System packages courtdoc uses when present (run as root on Debian/Ubuntu; skipped otherwise).
# None is required for the Python install itself.
set -euo pipefail
packages=(
    # LibreOffice without a GUI: converts legacy .doc files to .docx for the font and
    # line-spacing checks (about 200 MB, 50 packages; ~25 s to install on a fresh Debian 12).
    libreoffice-writer-nogui
    # A Cyrillic TTF with every Kazakh letter, for the PDF filings in fixtures/generate_filings.py.
    fonts-dejavu-core
    # OCR of the top of a scan's first page, to read its title (filing checks); optional at run time.
    tesseract-ocr tesseract-ocr-rus tesseract-ocr-kaz
    # pdfimages: the scan tests compare every image's dpi with `pdfimages -list`.
    poppler-utils
    # The browser the page tests drive through Playwright (tests/test_pages_browser.py, launched
    # from /usr/bin/chromium; `playwright install` is never run). Not needed to run the service.
    chromium
)
[ ${#packages[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"
else
    echo "install-system-deps: not root or no apt-get; skipping ${packages[*]}" >&2
fi
