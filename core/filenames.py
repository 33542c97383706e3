"""A filer's file name as courtdoc keeps it: one normalisation for the API and the CLI.

A name is the last path component of what the client sent, in Unicode NFC (so «й» typed on
macOS, NFD, and on Windows, NFC, is one name), without control characters, stripped. Over HTTP
the name arrives as bytes: RFC 7578 (section 4.2) has file names sent as UTF-8, so bytes that
are not UTF-8 are refused rather than guessed at (no Latin-1 fallback), and so is a name longer
than `MAX_NAME_BYTES` in UTF-8 — the limit of common file systems. Percent signs are kept: a
`%` is a legal character of a name, and decoding `%xx` would change names that contain one.
"""

from __future__ import annotations

import unicodedata

#: The longest name accepted, in UTF-8 bytes (ext4, NTFS and APFS allow 255).
MAX_NAME_BYTES = 255


class BadFilename(ValueError):
    """The name cannot be a document's name (not UTF-8, empty, too long)."""


def normalize_name(name: str) -> str:
    """The display name of a file: last path component, NFC, no control characters, stripped."""
    text = name.replace("\\", "/").rsplit("/", 1)[-1]
    text = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()


def name_from_bytes(raw: bytes) -> str:
    """The name of an uploaded file from its Content-Disposition bytes; raises BadFilename."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadFilename("the file name is not UTF-8 (RFC 7578: send names as UTF-8)") from None
    name = normalize_name(text)
    if not name:
        raise BadFilename("the file name is empty")
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        raise BadFilename(f"the file name is longer than {MAX_NAME_BYTES} bytes in UTF-8")
    return name


def collision_key(name: str) -> str:
    """Two names with the same key are the same name to a person and to most file systems
    (Unicode form and letter case aside)."""
    return unicodedata.normalize("NFC", name).casefold().strip()
