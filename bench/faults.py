"""Faults for `bench/bench_service.py --faults`: Redis and workers killed and restarted under load.

`run(service, stop)` cycles through four faults until `stop` is set, one every 8–15 s (seeded,
so two runs meet the same sequence): Redis SIGKILLed and restarted from its AOF 2–4 s later,
one worker process SIGKILLed (the supervisor replaces it), Redis SIGTERMed and started again,
and the whole `courtdoc worker` SIGTERMed and started again 1–3 s later. The service runs with
its default recovery settings (heartbeat 10 s, reconciler every 5 s for filings older than
30 s), so what the bench prints is what an operator would see.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from chaos import child_pids

CYCLE = ("redis-kill", "worker-kill", "redis-term", "worker-term")
SEED = 7


def run(service: Any, stop: threading.Event) -> None:
    rng = random.Random(SEED)
    i = 0
    while not stop.wait(rng.uniform(8.0, 15.0)):
        kind = CYCLE[i % len(CYCLE)]
        i += 1
        t0 = time.monotonic()
        if kind in ("redis-kill", "redis-term"):
            (service.redis.kill if kind == "redis-kill" else service.redis.stop)()
            time.sleep(rng.uniform(2.0, 4.0))
            service.redis.start()
        elif kind == "worker-kill":
            victims = child_pids(service.workers.pid)
            if victims:
                os.kill(rng.choice(sorted(victims)), signal.SIGKILL)
        else:
            service.workers.send_signal(signal.SIGTERM)
            service.workers.wait(90)
            time.sleep(rng.uniform(1.0, 3.0))
            service.start_workers()
        print(f"  fault: {kind} ({time.monotonic() - t0:.1f} s)", flush=True)
