"""A real `placehub serve` process on a free port, for the crash test and the ingest benchmark."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
# `serve` imports the whole app and migrates: seconds when idle, much longer on a loaded machine.
STARTUP_SECONDS = 90


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db_url: str, port: int, env: dict[str, str] | None = None,
                 src: Path | None = None, timeout: float = STARTUP_SECONDS
                 ) -> subprocess.Popen[bytes]:
    """Start `placehub serve` (anonymous writes, no MQTT) and wait until /healthz answers 200.

    ``src`` runs another checkout's code (the benchmark compares against the main branch);
    ``timeout`` is how long start-up may take (longer on a loaded machine)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "placehub", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env={
            **os.environ,
            "PYTHONPATH": str(src or REPO / "src"),
            "PLACEHUB_DATABASE_URL": db_url,
            "PLACEHUB_ANONYMOUS_WRITE": "true",
            "PLACEHUB_LOG_LEVEL": "warning",
            "PLACEHUB_INGEST_MQTT_TOPICS": "",
            **(env or {}),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"placehub serve did not start on port {port} within {timeout:.0f} s "
                       f"(exit code {process.poll()})")


def stop_processes(processes: list[subprocess.Popen[bytes]], timeout: float = 30) -> None:
    """Ask every process to stop (SIGTERM: they finish what they hold), then wait for each and
    kill one that does not stop within ``timeout`` seconds."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
