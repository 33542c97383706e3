"""Checks common to every file, made before any parsing: size, emptiness, extension, name, content type.

These read only the file's name, its size and its sniffed format, so they are cheap and safe
to run outside the sandbox.
"""

from __future__ import annotations

import re
import unicodedata

from ..core.policy import Policy
from .findings import Issues
from .sniff import Sniffed

# Words are runs of letters in any script; digits, underscores and punctuation split them.
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Camel case and letter/digit boundaries split words too: "IMG1234", "ScanDoc".
_CAMEL = re.compile(r"(?<=[a-zа-яёәғқңөұүһі])(?=[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ])")


def split_name(filename: str) -> tuple[str, str | None]:
    """Split a file name into stem and lower-case extension (None when there is none).

    Only the last path component counts (file names never become paths); ".pdf" has the
    extension "pdf" and an empty stem.
    """
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    if not dot or not ext or " " in ext:
        return base, None
    return stem, ext.lower()


def check_size(size: int, policy: Policy, issues: Issues) -> bool:
    """Size and emptiness; returns False when the file must not be parsed at all."""
    if size == 0:
        issues.add("file.empty", observed=0)
        return False
    limit = policy.limits.max_file_bytes
    if size > limit:
        issues.add(
            "file.too_large",
            observed=size,
            expected=f"<= {limit}",
            size_mb=f"{size / 1_048_576:.1f}",
            limit_mb=f"{limit / 1_048_576:g}",
        )
        return False
    return True


def allowed_list(policy: Policy) -> str:
    return ", ".join("." + e for e in policy.limits.allowed_extensions)


def check_extension(filename: str, policy: Policy, issues: Issues) -> str | None:
    """Returns the extension when it is allowed, else records why and returns None."""
    _, ext = split_name(filename)
    if ext is None:
        issues.add(
            "file.no_extension", expected=policy.limits.allowed_extensions, allowed=allowed_list(policy)
        )
        return None
    if ext not in policy.limits.allowed_extensions:
        issues.add(
            "file.extension_not_allowed",
            observed=ext,
            expected=policy.limits.allowed_extensions,
            extension=ext,
            allowed=allowed_list(policy),
        )
        return None
    return ext


def name_tokens(stem: str) -> list[tuple[str, list[str]]]:
    """Letter runs of a name, lower-cased, each with its camel-case parts ("WhatsApp" → what, app)."""
    text = unicodedata.normalize("NFC", stem)
    return [
        (token.lower(), [part.lower() for part in _CAMEL.sub(" ", token).split()])
        for token in _WORD.findall(text)
    ]


def check_name(filename: str, policy: Policy, issues: Issues) -> None:
    """Rule 3: the name must identify the document (not a camera/scanner default or a number).

    A name passes when it has a word of at least `names.min_word_letters` letters, in any
    script, that is not one of the policy's generic words. A word written as one token is
    judged whole first ("WhatsApp", "CamScanner"), then by its camel-case parts
    ("ScanDoc" is generic, "ДоверенностьИванов" is not).
    """
    stem, _ = split_name(filename)
    generic = {w.lower() for w in policy.names.generic_words}
    shortest = policy.names.min_word_letters
    for token, parts in name_tokens(stem):
        if token in generic:
            continue
        if any(len(part) >= shortest and part not in generic for part in parts):
            return
    issues.add("name.generic", observed=filename, name=filename)


def allowed_formats(policy: Policy) -> frozenset[str]:
    """The content formats the court takes under any allowed extension."""
    return frozenset(fmt for formats in policy.limits.extension_formats.values() for fmt in formats)


def check_content_type(ext: str, sniffed: Sniffed, policy: Policy, issues: Issues) -> bool:
    """The bytes must be the format the extension names; returns True when they are."""
    if sniffed.format in policy.limits.extension_formats.get(ext, []):
        return True
    issues.add(
        "file.content_mismatch",
        observed=sniffed.format,
        expected=policy.limits.extension_formats.get(ext, []),
        extension=ext,
        actual=sniffed.phrase,
    )
    return False
