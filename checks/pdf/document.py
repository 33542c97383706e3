"""One PDF opened once for every check that reads it: the structure, text, scan and outline checks.

`PdfFile` opens the file with PDFium the first time a check asks for it and hands every later
check the same `PdfDocument`; an open that failed fails the same way for each of them, without
trying again. The pypdf reader the structure check builds (the text layer reads it) is kept
beside it. The inspection of a file creates one `PdfFile` and closes it when every check is done.
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

    def close(self) -> None:
        self._closed = True
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
