"""Streaming intake of a multipart filing: parts go straight to staging files, never to memory.

The request body is fed chunk by chunk to python-multipart's streaming parser. A file part is
written to a blob staging file as it arrives, and the per-file cap is enforced on the running
count: the first byte past the cap discards that file and every other staged part of the request
and answers 413 — a 2 GB upload costs 20 MiB of disk for a moment and no memory. The metadata
part is bounded too. Nothing becomes visible (no blob, no Redis key) until the whole request has
been read and validated; `Received.abort()` removes every staging file on any error.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from ..core.filenames import MAX_NAME_BYTES, BadFilename, name_from_bytes
from ..infra.blobstore import BlobStore, StagedBlob, TooLarge

FILE_FIELDS = ("files", "files[]")
METADATA_FIELD = "metadata"
#: RFC 2046, section 5.1.1: a boundary has 1 to 70 characters.
MAX_BOUNDARY_CHARS = 70
#: One header line of a part; large enough that an over-long file name is judged as a name
#: (`bad_filename`) rather than refused by the parser.
MAX_PART_HEADER_BYTES = 65_536


@dataclass(frozen=True)
class UploadPace:
    """How slowly a client may send its body before it is cut off (408 `upload_too_slow`).

    No byte for `idle_s` seconds, or fewer than `min_bytes_per_s` × `window_s` bytes in any
    `window_s`-second window, ends the upload."""

    idle_s: float = 30.0
    min_bytes_per_s: int = 1024
    window_s: float = 30.0


class RequestError(Exception):
    """A client error with its HTTP status, a stable code and a message a developer can act on."""

    def __init__(self, status: int, code: str, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail


@dataclass
class UploadedFile:
    name: str
    blob: StagedBlob


@dataclass
class Received:
    metadata: bytes | None = None
    files: list[UploadedFile] = field(default_factory=list)

    def abort(self) -> None:
        for f in self.files:
            f.blob.abort()


class _Parts:
    """python-multipart callbacks: route each part to the metadata buffer or a staging file."""

    def __init__(
        self, blobs: BlobStore, max_file_bytes: int, max_files: int, max_metadata_bytes: int
    ) -> None:
        self.blobs = blobs
        self.max_file_bytes = max_file_bytes
        self.max_files = max_files
        self.max_metadata_bytes = max_metadata_bytes
        self.received = Received()
        self.ended = False
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._meta: bytearray | None = None
        self._file: UploadedFile | None = None

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self._headers = {}
        self._meta = None
        self._file = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._field.strip().lower()] = self._value.strip()
        self._field = self._value = b""

    def on_headers_finished(self) -> None:
        disposition = self._headers.get(b"content-disposition", b"")
        # Bytes in, bytes out: latin-1 maps each byte to one character and back, and the file
        # name's own encoding (UTF-8, as browsers and HTTP libraries send it) is decoded below.
        kind, params = parse_options_header(disposition.decode("latin-1"))
        if kind != b"form-data" or b"name" not in params:
            raise RequestError(
                400, "malformed_multipart", "every part needs Content-Disposition: form-data; name=…"
            )
        name = params[b"name"].decode("latin-1")
        if name == METADATA_FIELD:
            if self.received.metadata is not None:
                raise RequestError(400, "duplicate_part", "the metadata part was sent twice")
            self._meta = bytearray()
        elif name in FILE_FIELDS:
            if b"filename" not in params:
                raise RequestError(400, "bad_filename", "a file part needs a filename")
            try:
                filename = name_from_bytes(params[b"filename"])
            except BadFilename as exc:
                raise RequestError(
                    400, "bad_filename", f"{exc}; a name has 1 to {MAX_NAME_BYTES} bytes of UTF-8"
                ) from None
            if len(self.received.files) >= self.max_files:
                raise RequestError(
                    422,
                    "too_many_files",
                    f"a filing may have at most {self.max_files} files",
                    limit=self.max_files,
                )
            self._file = UploadedFile(filename, self.blobs.stage(self.max_file_bytes))
            self.received.files.append(self._file)
        else:
            raise RequestError(
                400, "unexpected_part", f"unexpected part {name!r}: send 'files' and 'metadata'", part=name
            )

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = memoryview(data)[start:end]
        if self._file is not None:
            try:
                self._file.blob.write(chunk)
            except TooLarge as exc:
                raise RequestError(
                    413,
                    "file_too_large",
                    f"{self._file.name}: larger than the {exc.limit} bytes a file may have",
                    file=self._file.name,
                    limit=exc.limit,
                ) from None
        elif self._meta is not None:
            self._meta += chunk
            if len(self._meta) > self.max_metadata_bytes:
                raise RequestError(
                    413,
                    "metadata_too_large",
                    f"the metadata part is larger than {self.max_metadata_bytes} bytes",
                )

    def on_part_end(self) -> None:
        if self._meta is not None:
            self.received.metadata = bytes(self._meta)
            self._meta = None
        self._file = None

    def on_end(self) -> None:
        self.ended = True


async def _chunks(request: Request, pace: UploadPace) -> Any:
    """The request body chunk by chunk, cut off (408) when the client sends too slowly."""
    receive = request.receive
    window_start = time.monotonic()
    window_bytes = 0
    while True:
        now = time.monotonic()
        window_left = window_start + pace.window_s - now
        try:
            message = await asyncio.wait_for(
                receive(), timeout=max(0.0, min(pace.idle_s, window_left)) + 0.01
            )
        except TimeoutError:
            message = None
        now = time.monotonic()
        if message is not None:
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            window_bytes += len(chunk)
            if chunk:
                yield chunk
            if not message.get("more_body", False):
                return
        if now - window_start >= pace.window_s:
            if window_bytes < pace.min_bytes_per_s * pace.window_s:
                raise _too_slow(pace, f"{window_bytes} bytes in the last {pace.window_s:g} s")
            window_start, window_bytes = now, 0
        elif message is None:
            raise _too_slow(pace, f"nothing for {pace.idle_s:g} s")


def _too_slow(pace: UploadPace, observed: str) -> RequestError:
    return RequestError(
        408,
        "upload_too_slow",
        f"the upload was too slow ({observed}); send at least {pace.min_bytes_per_s} bytes/s",
        min_bytes_per_s=pace.min_bytes_per_s,
        window_s=pace.window_s,
        idle_s=pace.idle_s,
    )


async def receive(
    request: Request,
    blobs: BlobStore,
    *,
    max_file_bytes: int,
    max_files: int,
    max_metadata_bytes: int,
    pace: UploadPace | None = None,
) -> Received:
    """Read a multipart filing into staging files; raises RequestError (having cleaned up)."""
    kind, params = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or not params.get(b"boundary"):
        raise RequestError(400, "not_multipart", "send the filing as multipart/form-data")
    boundary = params[b"boundary"]
    if len(boundary) > MAX_BOUNDARY_CHARS:
        raise RequestError(
            400,
            "malformed_multipart",
            f"the multipart boundary has {len(boundary)} characters; at most {MAX_BOUNDARY_CHARS}",
        )
    declared_length = request.headers.get("content-length")
    bound = max_files * (max_file_bytes + 16_384) + max_metadata_bytes + 1_048_576
    if declared_length and declared_length.isdigit() and int(declared_length) > bound:
        raise RequestError(
            413,
            "request_too_large",
            f"the request declares {declared_length} bytes; at most {bound} can be valid",
        )
    parts = _Parts(blobs, max_file_bytes, max_files, max_metadata_bytes)
    try:
        parser = MultipartParser(
            boundary,
            parts.callbacks(),  # type: ignore[arg-type]
            max_header_size=MAX_PART_HEADER_BYTES,
        )
        async for chunk in _chunks(request, pace or UploadPace()):
            parser.write(chunk)
        parser.finalize()
        if not parts.ended:
            raise RequestError(
                400, "malformed_multipart", "the multipart body ended before its closing boundary"
            )
    except FormParserError as exc:
        parts.received.abort()
        raise RequestError(
            400, "malformed_multipart", f"the multipart body cannot be parsed: {exc}"
        ) from None
    except BaseException:  # a RequestError, the client gone (ClientDisconnect), anything
        parts.received.abort()
        raise
    return parts.received
