"""Service configuration: COURTDOC_* variables, the clients file, the content-addressed blob store."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from courtdoc.infra.blobstore import BlobStore, TooLarge
from courtdoc.infra.clients import ClientsError, new_secret, parse_clients
from courtdoc.infra.settings import STANDARD_WEBHOOKS_SCHEDULE, Settings


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("COURTDOC_REDIS_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    assert Settings().redis_url is None
    assert Settings().callback_schedule_s == list(STANDARD_WEBHOOKS_SCHEDULE)
    monkeypatch.setenv("REDIS_URL", "redis://plain:6379/0")
    assert Settings().redis_url == "redis://plain:6379/0"
    monkeypatch.setenv("COURTDOC_REDIS_URL", "redis://courtdoc:6379/1")
    monkeypatch.setenv("COURTDOC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COURTDOC_CALLBACK_SCHEDULE_S", "0, 1.5, 30")
    monkeypatch.setenv("COURTDOC_CALLBACK_ALLOW_NETWORKS", '["127.0.0.1/32", "10.1.0.0/16"]')
    monkeypatch.setenv("COURTDOC_QUEUES", "bulk")
    monkeypatch.setenv("COURTDOC_FAULT_PAUSE", "check=2,stored=0.5")
    s = Settings()
    assert s.redis_url == "redis://courtdoc:6379/1"  # the COURTDOC_ name wins
    assert s.data_dir == tmp_path and s.blob_dir == tmp_path / "blobs"
    assert s.callback_schedule_s == [0, 1.5, 30]
    assert s.callback_allow_networks == ["127.0.0.1/32", "10.1.0.0/16"]
    assert s.queues == ["bulk"]
    assert s.faults() == {"check": 2.0, "stored": 0.5}
    monkeypatch.setenv("COURTDOC_CALLBACK_SCHEDULE_S", "")
    with pytest.raises(ValueError, match="at least one delay"):
        Settings()


def test_clients_file() -> None:
    secret = new_secret()
    clients = parse_clients(
        f"""
[clients.almaty]
api_key = "a-long-enough-key-0001"
callback_secret = "{secret}"
callback_hosts = ["cabinet.sud.kz", "*.court.kz"]

[clients.astana]
api_key_sha256 = "{hashlib.sha256(b"another-key-00000002").hexdigest()}"
callback_secret = "{secret}"
"""
    )
    almaty = clients.authenticate("a-long-enough-key-0001")
    assert almaty is not None and almaty.name == "almaty"
    assert (astana := clients.authenticate("another-key-00000002")) is not None and astana.name == "astana"
    assert clients.authenticate("a-long-enough-key-0002") is None
    assert clients.authenticate("") is None and clients.authenticate(None) is None
    assert almaty.allows_host("cabinet.sud.kz") and almaty.allows_host("e.court.kz")
    assert not almaty.allows_host("court.kz.evil.com") and not almaty.allows_host("sud.kz")
    assert not astana.allows_host("cabinet.sud.kz")  # no hosts listed: no callbacks


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "at least one"),
        ('[clients.a]\napi_key = "short"\ncallback_secret = "whsec_x"', "at least 16"),
        ('[clients.a]\napi_key = "long-enough-key-123"\ncallback_secret = "plain"', "whsec_"),
        (
            '[clients.a]\napi_key = "long-enough-key-123"\ncallback_secret = "whsec_c2hvcnQ="',
            "24 random bytes",
        ),
        ('[clients.a]\napi_key = "long-enough-key-123"\nsecret = "x"', "unknown key"),
        ("[clients.a", "not a valid TOML"),
    ],
)
def test_bad_clients_file(text: str, message: str) -> None:
    with pytest.raises(ClientsError, match=message):
        parse_clients(text)


def test_an_unedited_copy_of_the_example_clients_file_is_named_as_such() -> None:
    example = (Path(__file__).resolve().parents[1] / "deploy" / "clients.example.toml").read_text()
    with pytest.raises(ClientsError, match=r"api_key_sha256: still the placeholder of clients\.example\.toml"):
        parse_clients(example)
    key_replaced = example.replace("0" * 64, "ab" * 32)
    with pytest.raises(ClientsError, match=r"callback_secret: still the placeholder"):
        parse_clients(key_replaced)


def test_blob_store_keeps_each_content_once(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    paths = []
    for _ in range(2):
        staged = store.stage(limit=100)
        staged.write(b"%PDF-1.4 the same bytes")
        paths.append(staged.commit())
    digest = hashlib.sha256(b"%PDF-1.4 the same bytes").hexdigest()
    assert paths[0] == paths[1] == store.path(digest)
    assert paths[0].read_bytes() == b"%PDF-1.4 the same bytes"
    assert store.staging_files() == []
    big = store.stage(limit=10)
    with pytest.raises(TooLarge):
        big.write(b"x" * 11)
    assert store.staging_files() == []  # the oversized upload is gone at once
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")
