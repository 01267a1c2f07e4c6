"""The CLI's shared helpers: foreground services stop cleanly on Ctrl+C and on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
SERVICE = """
import time
from placehub.console import until_stopped
try:
    with until_stopped():
        print("running", flush=True)
        while True:
            time.sleep(0.05)
finally:
    print("cleaned up", flush=True)
"""


@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM])
def test_until_stopped_ends_on_the_signal_even_when_sigint_was_ignored(
    stop_with: signal.Signals,
) -> None:
    """A service started as a shell's background job (SIGINT ignored) still stops on SIGINT or
    SIGTERM, says so and runs its clean-up."""
    process = subprocess.Popen(
        [sys.executable, "-c", SERVICE], env={**os.environ, "PYTHONPATH": str(SRC)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "running"
    time.sleep(0.1)
    process.send_signal(stop_with)
    output, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert output.split() == ["Stopped.", "cleaned", "up"]
