"""Notifications: signed webhooks retried with backoff, e-mail over SMTP, subscriptions, digest."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from placehub.access.service import ensure_organisation
from placehub.alerts import notify
from placehub.alerts.clock import FakeClock
from placehub.alerts.engine import RuleEngine
from placehub.db import Database

from .conftest import Post, make_asset

SECRET = "s3cret-for-tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Receiver:
    """A webhook receiver on a free port that fails the first ``failures`` requests."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.attempts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.attempts += 1
                if receiver.attempts <= receiver.failures:
                    self.send_response(503)
                    self.end_headers()
                    self.wfile.write(b"busy")
                    return
                receiver.received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver that fails twice, then recovers."""
    server = Receiver(failures=2)
    yield server
    server.close()


class Mailbox:
    """aiosmtpd handler keeping the messages it receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[str, Mailbox]]:
    """A local SMTP server (aiosmtpd) on a free port; yields its URL and mailbox."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield f"smtp://127.0.0.1:{port}", mailbox
    controller.stop()


def make_team(database: Database, clock: FakeClock, **kwargs: Any) -> int:
    with database.begin() as conn:
        org = ensure_organisation(conn, "rutland", "Rutland")
        team = notify.create_team(conn, clock.now(), organisation_id=org, name="Waste team",
                                  **kwargs)
        return team


def test_webhook_survives_a_receiver_that_fails_twice(
        database: Database, engine: RuleEngine, post: Post, clock: FakeClock,
        receiver: Receiver) -> None:
    """The signed webhook is retried with backoff and arrives once the receiver recovers."""
    team = make_team(database, clock, webhook_url=receiver.url, webhook_secret=SECRET)
    with database.begin() as conn:
        notify.subscribe(conn, team, channels=["webhook"], asset_types=["litter_bin"],
                         rule_keys=["bin_tilted"])
    _, streams = make_asset(database, "litter_bin", ["tilt_angle"])
    post(streams["tilt_angle"], (0, 85.0))
    senders = {"webhook": notify.WebhookSender(timeout=5)}

    assert notify.deliver_due(database, clock.now(), senders) == {
        "delivered": 0, "retrying": 1, "failed": 0}
    with database.connect() as conn:
        (pending,) = notify.list_deliveries(conn)
    assert pending["status"] == "pending" and "HTTP 503" in pending["last_error"]
    # Not due again before the backoff has passed.
    assert notify.deliver_due(database, clock.now(), senders)["retrying"] == 0
    clock.advance(timedelta(seconds=30))
    assert notify.deliver_due(database, clock.now(), senders)["retrying"] == 1
    clock.advance(timedelta(seconds=59))
    assert notify.deliver_due(database, clock.now(), senders)["retrying"] == 0  # backoff 60 s
    clock.advance(timedelta(seconds=1))
    assert notify.deliver_due(database, clock.now(), senders)["delivered"] == 1

    ((headers, body),) = receiver.received
    assert receiver.attempts == 3
    assert headers["X-Placehub-Signature"] == notify.signature(SECRET, body)
    payload = json.loads(body)
    assert payload["event"] == "alert.opened"
    assert payload["alert"]["rule_key"] == "bin_tilted"
    with database.connect() as conn:
        (done,) = notify.list_deliveries(conn)
    assert done["status"] == "delivered" and done["attempts"] == 3


def test_failures_become_visible_after_the_last_attempt(
        database: Database, engine: RuleEngine, post: Post, clock: FakeClock) -> None:
    """A receiver that never answers leaves a failed delivery with its error in the table."""
    team = make_team(database, clock, webhook_url=f"http://127.0.0.1:{free_port()}/x",
                     webhook_secret=SECRET)
    with database.begin() as conn:
        notify.subscribe(conn, team, channels=["webhook"], min_severity="critical")
    _, streams = make_asset(database, "litter_bin", ["tilt_angle", "fill_level"])
    post(streams["fill_level"], (0, 95.0), (40, 96.0))  # warning: not subscribed
    post(streams["tilt_angle"], (41, 85.0))  # critical
    senders = {"webhook": notify.WebhookSender(timeout=2)}
    for _ in range(notify.MAX_ATTEMPTS):
        notify.deliver_due(database, clock.now(), senders)
        clock.advance(timedelta(hours=1))
    with database.connect() as conn:
        (failed,) = notify.list_deliveries(conn, status="failed")
    assert failed["attempts"] == notify.MAX_ATTEMPTS and "ConnectError" in failed["last_error"]


def test_email_reaches_the_local_smtp_server(
        database: Database, engine: RuleEngine, post: Post, clock: FakeClock,
        smtp: tuple[str, Mailbox]) -> None:
    """Opening and auto-resolving an alert e-mails the subscribed team through SMTP."""
    url, mailbox = smtp
    team = make_team(database, clock, email="waste@rutland.example, duty@rutland.example")
    with database.begin() as conn:
        notify.subscribe(conn, team, channels=["email"])
    _, streams = make_asset(database, "litter_bin", ["tilt_angle"], name="High St bin")
    post(streams["tilt_angle"], (0, 85.0), (5, 1.0), (20, 1.0))
    sender = notify.EmailSender(url, "alerts@rutland.example")
    counts = notify.deliver_due(database, clock.now(), {"email": sender})
    assert counts["delivered"] >= 2
    subjects = [m.content.decode().split("Subject: ")[1].split("\n")[0].strip()
                for m in mailbox.messages]
    assert any("Bin knocked over: High St bin (opened)" in s for s in subjects)
    assert any("(resolved)" in s for s in subjects)
    assert set(mailbox.messages[0].rcpt_tos) == {"waste@rutland.example",
                                                 "duty@rutland.example"}


def test_daily_digest_once_a_day(database: Database, engine: RuleEngine, post: Post,
                                 clock: FakeClock, smtp: tuple[str, Mailbox]) -> None:
    """After the digest hour each team gets one digest of its alerts; not twice the same day."""
    url, mailbox = smtp
    team = make_team(database, clock, email="parks@rutland.example")
    with database.begin() as conn:
        notify.subscribe(conn, team, channels=["email"], asset_types=["flowerbed"],
                         immediate=False)
    _, beds = make_asset(database, "flowerbed", ["soil_moisture"])
    _, bins = make_asset(database, "litter_bin", ["tilt_angle"])
    post(beds["soil_moisture"], (0, 10.0), (130, 9.0))
    post(bins["tilt_angle"], (131, 85.0))
    with database.begin() as conn:
        assert notify.list_deliveries(conn) == []  # digest-only: nothing immediate
        assert notify.queue_digests(conn, clock.now(), digest_hour=23) == 0  # too early
        assert notify.queue_digests(conn, clock.now(), digest_hour=7) == 1
        assert notify.queue_digests(conn, clock.now(), digest_hour=7) == 0
    notify.deliver_due(database, clock.now(), {"email": notify.EmailSender(url)})
    (message,) = mailbox.messages
    text = message.content.decode()
    assert "Daily alert digest" in text and "Flowerbed dry" in text
    assert "Bin knocked over" not in text


def test_team_validation(database: Database, clock: FakeClock) -> None:
    """A webhook without a secret or a bad channel is refused with a message."""
    from placehub.errors import BadRequest

    with pytest.raises(BadRequest, match="secret"):
        make_team(database, clock, webhook_url="https://example.org/hook")
    team = make_team(database, clock, email="a@example.org")
    with database.begin() as conn, pytest.raises(BadRequest, match="no webhook"):
        notify.subscribe(conn, team, channels=["webhook"])
