"""Signed report links: `/r/{filing_id}/{expires}/{signature}` opens a filing's report page
without an API key, until `expires` (Unix seconds).

The signature is HMAC-SHA256 over `report:{filing_id}:{expires}` with the server's link secret,
in unpadded base64url. The secret is `COURTDOC_REPORT_LINK_SECRET`, or else 32 random bytes in
`<data dir>/report-link.key` (mode 0600), made on first use by whichever process comes first —
the API and every worker sharing the data directory read the same file. Changing the secret
revokes every link handed out; a link handed out later is valid for `COURTDOC_REPORT_LINK_TTL_S`
from then, so a portal gets a fresh one with each status answer.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .blobstore import private_dir
from .settings import Settings

KEY_FILE = "report-link.key"
_SIGNATURE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_EXPIRES = re.compile(r"^[0-9]{1,12}$")

Verdict = Literal["ok", "invalid", "expired"]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class ReportLinks:
    secret: bytes
    ttl_s: float
    base: str = ""

    def signature(self, filing_id: str, expires: int) -> str:
        message = f"report:{filing_id}:{expires}".encode()
        return _b64(hmac.new(self.secret, message, hashlib.sha256).digest())

    def path(self, filing_id: str, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + self.ttl_s)
        return f"/r/{filing_id}/{expires}/{self.signature(filing_id, expires)}"

    def url(self, filing_id: str, now: float | None = None) -> str:
        return self.base + self.path(filing_id, now)

    def verify(self, filing_id: str, expires: str, signature: str, now: float | None = None) -> Verdict:
        """`ok`, `expired` (a link we signed, past its time) or `invalid` (not one we signed)."""
        if not _EXPIRES.match(expires) or not _SIGNATURE.match(signature):
            return "invalid"
        if not hmac.compare_digest(self.signature(filing_id, int(expires)), signature):
            return "invalid"
        if int(expires) < (time.time() if now is None else now):
            return "expired"
        return "ok"


def _read_or_create(path: Path) -> bytes:
    """The key file's bytes; made (0600, complete before it is visible) when missing."""
    with contextlib.suppress(FileNotFoundError):
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_bytes(32).hex() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)  # never replaces a key another process made meanwhile
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


_cache: dict[tuple[str, str, float, str], ReportLinks] = {}
_lock = threading.Lock()


def report_links(settings: Settings) -> ReportLinks:
    """The link signer of these settings (the key file is read once per process)."""
    base = (settings.public_url or "").rstrip("/")
    secret = settings.report_link_secret or ""
    key = (str(settings.data_dir.resolve()), secret, settings.report_link_ttl_s, base)
    with _lock:
        links = _cache.get(key)
        if links is None:
            raw = secret.encode() if secret else _read_or_create(settings.data_dir / KEY_FILE)
            links = _cache[key] = ReportLinks(raw, settings.report_link_ttl_s, base)
        return links
