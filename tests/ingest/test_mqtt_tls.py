"""mqtts:// is TLS with the broker's certificate checked: a real Mosquitto on a spare port with a
test CA made here; the right CA file connects and ingests, a wrong CA (or the system CAs) is
refused, and the insecure option connects with a warning."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest
from sqlalchemy import select

from placehub.db import Database
from placehub.ingest.journal import JournalWriter
from placehub.ingest.mqtt import Subscription, run_subscription, tls_context
from placehub.ingest.tables import ingest_journal

from .messages import ldds75, tts_uplink

EUI = "A84041000181AB77"


def make_ca(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed test CA (certificate, key) made with openssl."""
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def make_server_cert(folder: Path, ca: tuple[Path, Path]) -> tuple[Path, Path]:
    """A broker certificate for 127.0.0.1 / localhost signed by ``ca``."""
    key, csr, cert = folder / "broker.key", folder / "broker.csr", folder / "broker.crt"
    extensions = folder / "san.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(key), "-out", str(csr)], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey",
                    str(ca[1]), "-CAcreateserial", "-days", "2", "-extfile", str(extensions),
                    "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """Mosquitto with TLS on a spare port; (mqtts URL, its CA file, another CA file)."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        pytest.fail("mosquitto (the MQTT broker binary) is needed for the TLS test")
    ca = make_ca(tmp_path, "placehub-test-ca")
    other_ca = make_ca(tmp_path, "someone-else-ca")
    cert, key = make_server_cert(tmp_path, ca)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "mosquitto.conf"
    run_as = "user root\n" if os.geteuid() == 0 else ""
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n{run_as}"
        f"cafile {ca[0]}\ncertfile {cert}\nkeyfile {key}\ntls_version tlsv1.2\n"
    )
    process = subprocess.Popen([binary, "-c", str(config)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("mosquitto did not start") from None
                time.sleep(0.05)
        yield f"mqtts://127.0.0.1:{port}", ca[0], other_ca[0]
    finally:
        process.terminate()
        process.wait(10)


async def _connects(subscription: Subscription) -> bool:
    from urllib.parse import urlparse

    parsed = urlparse(subscription.url)
    try:
        async with aiomqtt.Client(parsed.hostname or "", parsed.port or 8883,
                                  tls_context=tls_context(subscription), timeout=5):
            return True
    except aiomqtt.MqttError:
        return False


def test_mqtts_with_the_broker_ca_ingests_and_a_wrong_ca_is_refused(
    tls_broker, database: Database, caplog
) -> None:
    """The right CA file connects and an uplink published over TLS is journaled; a wrong CA or
    the system CAs fail the certificate check; --insecure connects and warns."""
    url, ca_file, other_ca = tls_broker
    assert asyncio.run(_connects(Subscription("tts", "#", url, ca_file=str(other_ca)))) is False
    assert asyncio.run(_connects(Subscription("tts", "#", url))) is False
    insecure = Subscription("tts", "#", url, tls_insecure=True)
    assert asyncio.run(_connects(insecure)) is True
    assert "NOT verified" in caplog.text
    with pytest.raises(ValueError, match="mqtt:// or mqtts://"):
        tls_context(Subscription("tts", "#", "http://127.0.0.1:1"))
    assert tls_context(Subscription("tts", "#", "mqtt://127.0.0.1:1883")) is None
    context = tls_context(Subscription("tts", "#", url, ca_file=str(ca_file)))
    assert context is not None and context.verify_mode == ssl.CERT_REQUIRED

    writer = JournalWriter(database)
    subscription = Subscription("tts", "v3/tls-app@ttn/devices/+/up", url, ca_file=str(ca_file))

    async def run() -> None:
        ready = asyncio.Event()
        task = asyncio.create_task(run_subscription(subscription, writer, ready))
        await asyncio.wait_for(ready.wait(), 10)
        async with aiomqtt.Client("127.0.0.1", int(url.rsplit(":", 1)[1]),
                                  tls_context=tls_context(subscription)) as client:
            await client.publish("v3/tls-app@ttn/devices/bin/up",
                                 json.dumps(tts_uplink(EUI, ldds75(450), 3, app="tls-app")))
        deadline = time.monotonic() + 10
        while subscription.stats["stored"] == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        task.cancel()

    asyncio.run(run())
    writer.stop()
    with database.connect() as conn:
        (row,) = conn.execute(select(ingest_journal.c.dev_eui, ingest_journal.c.transport))
    assert row == (EUI, "mqtt")
