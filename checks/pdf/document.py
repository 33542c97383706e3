"""One PDF opened once for every check that reads it: the structure, text, scan and outline checks.

`PdfFile` opens the file with PDFium the first time a check asks for it and hands every later
check the same `PdfDocument`; an open that failed fails the same way for each of them, without
trying again. The pypdf reader the structure check builds (the text layer reads it) is kept
beside it. The inspection of a file creates one `PdfFile` and closes it when every check is done.

Loading a page parses its content, which can cost seconds (a stream that inflates to hundreds of
megabytes): the last page asked for stays loaded, so checks that follow one another on a page
(the last page the structure check loads is the first the scan checks ask for in a one-page file)
load it once. One page only: a loaded scan page holds its decoded image.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import pypdfium2 as pdfium


class PdfFile:
    """A PDF file with its PDFium document (opened on first use, once) and its pypdf reader."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.reader: Any = None  # pypdf.PdfReader, set by the structure check once it reads
        self._document: pdfium.PdfDocument | None = None
        self._error: pdfium.PdfiumError | None = None
        self._closed = False
        self._page: pdfium.PdfPage | None = None
        self._page_index = -1

    @property
    def document(self) -> pdfium.PdfDocument:
        """The PDFium document; raises the open's `PdfiumError` (every time) when it does not open."""
        if self._document is None:
            if self._closed:
                raise ValueError("the PDF file is closed")
            if self._error is not None:
                raise self._error
            try:
                self._document = pdfium.PdfDocument(str(self.path))
            except pdfium.PdfiumError as exc:
                self._error = exc
                raise
        return self._document

    def page(self, index: int) -> pdfium.PdfPage:
        """Page `index` (from 0), loaded; it stays loaded until another page is asked for or the
        file closes, so the caller does not close it. Raises `PdfiumError` when it does not load."""
        if self._page is not None and self._page_index == index:
            return self._page
        self._release_page()
        page = self.document[index]
        self._page, self._page_index = page, index
        return page

    def _release_page(self) -> None:
        if self._page is not None:
            self._page.close()
            self._page, self._page_index = None, -1

    def close(self) -> None:
        self._closed = True
        self._release_page()
        if self._document is not None:
            self._document.close()
            self._document = None
        self.reader = None

    def __enter__(self) -> PdfFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
