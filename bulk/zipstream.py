"""A ZIP archive read entry by entry: the central directory is walked record by record from disk.

`zipfile.ZipFile` loads every entry of the central directory into memory at once, which for an
archive of a million stored files costs hundreds of megabytes before the first file is read.
Here the end record (and its ZIP64 form) locates the central directory; `entries()` yields one
`ZipEntry` at a time, and `extract()` copies one member's data (stored or deflated) to a file
while hashing it, with the CRC checked and the output capped at the size the directory states.
Member names are only ever reported, never used as paths.
"""

from __future__ import annotations

import bz2
import hashlib
import lzma
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_LOCAL = struct.Struct("<4s5H3L2H")
_MAX_COMMENT = 65_535
_CHUNK = 1 << 20


class ZipFormatError(Exception):
    """The archive (or one member) cannot be read."""


@dataclass(frozen=True)
class ZipEntry:
    name: str
    method: int
    flags: int
    crc: int
    compressed_size: int
    size: int
    header_offset: int

    @property
    def is_dir(self) -> bool:
        return self.name.endswith("/")


@dataclass(frozen=True)
class _Directory:
    count: int
    offset: int  # where the central directory starts in the file
    concat: int  # bytes prepended to the archive (self-extracting stubs); shifts every offset


class _Decompressor(Protocol):
    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...


def _read_directory(fh: BinaryIO) -> _Directory:
    fh.seek(0, 2)
    file_size = fh.tell()
    window = min(file_size, _EOCD.size + _MAX_COMMENT)
    fh.seek(file_size - window)
    tail = fh.read(window)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or len(tail) - pos < _EOCD.size:
        raise ZipFormatError("no end-of-central-directory record: not a ZIP file")
    _, _, _, _, count, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, pos)
    eocd_at = file_size - window + pos
    loc_at = eocd_at - _ZIP64_LOCATOR.size
    if loc_at >= 0:
        fh.seek(loc_at)
        raw = fh.read(_ZIP64_LOCATOR.size)
        if raw[:4] == b"PK\x06\x07":
            _, _, z64_at, _ = _ZIP64_LOCATOR.unpack(raw)
            # The ZIP64 end record sits just before its locator; where it says it sits tells
            # how much data was prepended to the archive.
            real_at = loc_at - _ZIP64_EOCD.size
            fh.seek(max(0, real_at))
            rec = fh.read(_ZIP64_EOCD.size)
            if real_at >= 0 and len(rec) == _ZIP64_EOCD.size and rec[:4] == b"PK\x06\x06":
                fields = _ZIP64_EOCD.unpack(rec)
                count, cd_offset = fields[7], fields[9]
                concat = real_at - z64_at
                return _Directory(count, cd_offset + concat, concat)
    concat = eocd_at - cd_size - cd_offset
    if concat < 0:
        raise ZipFormatError("the central directory lies outside the file")
    return _Directory(count, cd_offset + concat, concat)


def _zip64_sizes(extra: bytes, size: int, csize: int, offset: int) -> tuple[int, int, int]:
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<2H", extra, pos)
        body = extra[pos + 4 : pos + 4 + length]
        pos += 4 + length
        if tag != 0x0001:
            continue
        values = [struct.unpack_from("<Q", body, i)[0] for i in range(0, len(body) - 7, 8)]
        if size == 0xFFFFFFFF and values:
            size = values.pop(0)
        if csize == 0xFFFFFFFF and values:
            csize = values.pop(0)
        if offset == 0xFFFFFFFF and values:
            offset = values.pop(0)
    return size, csize, offset


class ZipStream:
    """One open archive; `entries()` streams the directory, `extract()` one member's data."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._data = open(path, "rb")  # noqa: SIM115 — closed by close()
        try:
            self._dir = _read_directory(self._data)
        except (OSError, struct.error) as exc:
            self._data.close()
            raise ZipFormatError(str(exc)) from exc
        except ZipFormatError:
            self._data.close()
            raise

    @property
    def count(self) -> int:
        """Entries the directory announces (directories included)."""
        return self._dir.count

    def entries(self) -> Iterator[ZipEntry]:
        with open(self.path, "rb", buffering=_CHUNK) as fh:
            fh.seek(self._dir.offset)
            for _ in range(self._dir.count):
                head = fh.read(_CENTRAL.size)
                if len(head) < _CENTRAL.size or head[:4] != b"PK\x01\x02":
                    raise ZipFormatError("the central directory is damaged")
                f = _CENTRAL.unpack(head)
                flags, method, crc, csize, size = f[3], f[4], f[7], f[8], f[9]
                name_len, extra_len, comment_len, offset = f[10], f[11], f[12], f[16]
                raw_name = fh.read(name_len)
                extra = fh.read(extra_len)
                fh.seek(comment_len, 1)
                name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
                size, csize, offset = _zip64_sizes(extra, size, csize, offset)
                yield ZipEntry(name, method, flags, crc, csize, size, offset + self._dir.concat)

    def extract(self, entry: ZipEntry, out: BinaryIO) -> str:
        """Copy the member's bytes to `out`; returns their sha256. Raises ZipFormatError."""
        if entry.flags & 0x1:
            raise ZipFormatError("the member is encrypted")
        fh = self._data
        fh.seek(entry.header_offset)
        head = fh.read(_LOCAL.size)
        if len(head) < _LOCAL.size or head[:4] != b"PK\x03\x04":
            raise ZipFormatError("the member's local header is missing")
        f = _LOCAL.unpack(head)
        fh.seek(f[9] + f[10], 1)
        decomp: _Decompressor | None
        if entry.method == 0:
            decomp = None
        elif entry.method == 8:
            decomp = zlib.decompressobj(-15)
        elif entry.method == 12:
            decomp = bz2.BZ2Decompressor()
        elif entry.method == 14:
            raise ZipFormatError("LZMA-compressed members are not supported")
        else:
            raise ZipFormatError(f"compression method {entry.method} is not supported")
        digest = hashlib.sha256()
        crc = 0
        written = 0

        def emit(data: bytes) -> None:
            nonlocal crc, written
            written += len(data)
            if written > entry.size:
                raise ZipFormatError("the member inflates beyond the size the archive states")
            digest.update(data)
            crc = zlib.crc32(data, crc)
            out.write(data)

        remaining = entry.compressed_size
        while remaining > 0:
            chunk = fh.read(min(_CHUNK, remaining))
            if not chunk:
                raise ZipFormatError("the member's data is cut short")
            remaining -= len(chunk)
            try:
                data = chunk if decomp is None else decomp.decompress(chunk)
            except (zlib.error, OSError, lzma.LZMAError) as exc:
                raise ZipFormatError(f"the member's data is damaged: {exc}") from exc
            emit(data)
        if entry.method == 8:
            emit(decomp.flush())  # type: ignore[union-attr]
        if written != entry.size or crc != entry.crc:
            raise ZipFormatError("the member's checksum or size does not match the archive's directory")
        return digest.hexdigest()

    def close(self) -> None:
        self._data.close()

    def __enter__(self) -> ZipStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
