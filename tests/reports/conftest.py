"""Fixtures for the reports tests: the seeded council (tests.web.seed), an Open311 key, and a
local SMTP server for the reporters' notices."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from placehub.db import Database
from placehub.reports import keys
from tests.web.seed import Seeded, seed


@pytest.fixture
def seeded(database: Database) -> Seeded:
    """The council with bins, flowerbeds and air stations round Oakham."""
    return seed(database, bins=9, history_hours=24)


@pytest.fixture
def api_key(database: Database, seeded: Seeded) -> str:
    """An Open311 key for a posting system."""
    with database.begin() as conn:
        return keys.create_key(conn, "fixmystreet", datetime.now(UTC))


class Mailbox:
    """aiosmtpd handler keeping the messages it receives."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[str, Mailbox]]:
    """A local SMTP server on a free port; yields its URL and mailbox."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield f"smtp://127.0.0.1:{port}", mailbox
    controller.stop()
