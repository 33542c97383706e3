"""The portals allowed to post filings: API keys, callback secrets, allowed callback hosts.

`COURTDOC_CLIENTS_FILE` is a TOML file with one table per portal:

    [clients.cabinet-almaty]
    api_key_sha256 = "9f86d08…"        # or api_key = "…" (plain); the sha256 form keeps keys out of the file
    callback_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    callback_hosts = ["cabinet.sud.kz", "*.sud.kz"]   # "*" allows any host

A key is compared by its sha256 in constant time; an unknown key is the same 401 as none.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ClientsError(ValueError):
    """The clients file is missing, is not TOML, or has a bad entry."""


@dataclass(frozen=True)
class Client:
    name: str
    key_sha256: str
    callback_secret: str
    callback_hosts: tuple[str, ...] = field(default_factory=tuple)

    def allows_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        for pattern in self.callback_hosts:
            pattern = pattern.lower().rstrip(".")
            if pattern == "*" or pattern == host:
                return True
            if pattern.startswith("*.") and host.endswith(pattern[1:]):
                return True
        return False


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: The values deploy/clients.example.toml ships with: a copy left unedited is named as such.
_PLACEHOLDER_SECRET = "whsec_REPLACE_ME"
_PLACEHOLDER_KEY_SHA256 = "0" * 64


def _placeholder(name: str, key: str) -> ClientsError:
    return ClientsError(
        f"clients.{name}.{key}: still the placeholder of clients.example.toml; replace it with a "
        "real value (the comments at the top of that file say how to make one)"
    )


def _check_secret(name: str, secret: Any) -> str:
    if secret == _PLACEHOLDER_SECRET:
        raise _placeholder(name, "callback_secret")
    if not isinstance(secret, str) or not secret.startswith("whsec_"):
        raise ClientsError(f"clients.{name}.callback_secret: expected a 'whsec_…' string")
    try:
        raw = base64.b64decode(secret[len("whsec_") :] + "==", validate=False)
    except ValueError:
        raise ClientsError(f"clients.{name}.callback_secret: not base64 after 'whsec_'") from None
    if len(raw) < 24:
        raise ClientsError(f"clients.{name}.callback_secret: at least 24 random bytes are needed")
    return secret


class Clients:
    """Looks up the portal a bearer token belongs to."""

    def __init__(self, clients: list[Client]) -> None:
        self._by_hash = {c.key_sha256: c for c in clients}
        self._by_name = {c.name: c for c in clients}

    def __len__(self) -> int:
        return len(self._by_name)

    def authenticate(self, token: str | None) -> Client | None:
        if not token:
            return None
        digest = _sha256(token)
        for known, client in self._by_hash.items():
            if hmac.compare_digest(known, digest):
                return client
        return None

    def get(self, name: str) -> Client | None:
        return self._by_name.get(name)


def parse_clients(text: str, source: str = "<clients>") -> Clients:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ClientsError(f"{source}: not a valid TOML file: {exc}") from None
    table = data.get("clients")
    if not isinstance(table, dict) or not table:
        raise ClientsError(f"{source}: expected at least one [clients.<name>] table")
    out: list[Client] = []
    for name, entry in table.items():
        if not isinstance(entry, dict):
            raise ClientsError(f"clients.{name}: expected a table")
        unknown = sorted(set(entry) - {"api_key", "api_key_sha256", "callback_secret", "callback_hosts"})
        if unknown:
            raise ClientsError(f"clients.{name}.{unknown[0]}: unknown key")
        if "api_key_sha256" in entry:
            key_hash = str(entry["api_key_sha256"]).lower()
            if key_hash == _PLACEHOLDER_KEY_SHA256:
                raise _placeholder(name, "api_key_sha256")
            if len(key_hash) != 64 or any(ch not in "0123456789abcdef" for ch in key_hash):
                raise ClientsError(f"clients.{name}.api_key_sha256: expected 64 hex digits")
        elif isinstance(entry.get("api_key"), str) and len(entry["api_key"]) >= 16:
            key_hash = _sha256(entry["api_key"])
        else:
            raise ClientsError(f"clients.{name}: needs api_key_sha256, or api_key of at least 16 characters")
        hosts = entry.get("callback_hosts", [])
        if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
            raise ClientsError(f"clients.{name}.callback_hosts: expected a list of host names")
        out.append(Client(name, key_hash, _check_secret(name, entry.get("callback_secret")), tuple(hosts)))
    return Clients(out)


def load_clients(path: Path) -> Clients:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ClientsError(f"{path}: cannot read clients file: {exc.strerror}") from None
    return parse_clients(text, str(path))


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def write_local_clients(path: Path) -> str:
    """Create a clients file (mode 0600) with one `local` portal; returns its API key."""
    key = secrets.token_urlsafe(32)
    text = (
        "# Generated by `courtdoc serve` on first start: one portal for local use.\n"
        "[clients.local]\n"
        f'api_key = "{key}"\n'
        f'callback_secret = "{new_secret()}"\n'
        'callback_hosts = ["localhost", "127.0.0.1"]\n'
    )
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    # Created 0600 (never readable by others, not even for a moment), then renamed into place.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    return key
