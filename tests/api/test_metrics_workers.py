"""`hotline api --workers 2`: a scrape of /metrics counts the requests every worker served, not only
the ones the scraped worker happened to get."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.broker import free_port

HOTLINE = str(Path(sys.executable).with_name("hotline"))


def served(metrics: str, status: str) -> float:
    """Requests counted under the ticket list's route template with this status, all workers."""
    total = 0.0
    for line in metrics.splitlines():
        if (line.startswith("hotline_http_request_duration_seconds_count")
                and 'route="/api/v1/tickets"' in line and f'status="{status}"' in line):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_a_scrape_counts_every_workers_requests(tmp_path: Path) -> None:
    env = {**os.environ, "HOTLINE_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'h.db'}",
           "HOTLINE_ENVIRONMENT": "test", "HOTLINE_LOG_LEVEL": "WARNING"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run([HOTLINE, "migrate"], env=env, check=True, capture_output=True, timeout=120)
    port = free_port()
    server = subprocess.Popen([HOTLINE, "api", "--port", str(port), "--workers", "2"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, server.stderr.read().decode()[-2000:]
            time.sleep(0.2)
        for _ in range(40):  # a new connection each: the kernel spreads them over the workers
            r = httpx.get(f"{base}/api/v1/tickets", headers={"Connection": "close"}, timeout=5)
            assert r.status_code == 401
        for _ in range(10):
            text = httpx.get(f"{base}/metrics", headers={"Connection": "close"}, timeout=5).text
            assert served(text, "401") == 40, text[:2000]
    finally:
        server.terminate()
        server.wait(timeout=30)
