"""Notifications: teams subscribe to alerts; webhooks and e-mails go out through an outbox.

When an alert opens or resolves, a delivery row is written for every matching subscription in
the same transaction (so nothing is lost if the process dies), and the timer sends what is due.
A failed send is retried with exponential backoff (30 s, 1 min, 2 min, ... up to 1 h) and, after
``MAX_ATTEMPTS``, marked failed; the last error is kept and listed by the API and CLI.

Webhooks POST JSON with ``X-Placehub-Signature: sha256=<hex HMAC-SHA256 of the body with the
team's secret>`` (the GitHub convention), so receivers can check who sent it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlparse

import httpx
from sqlalchemy import Connection, delete, insert, select, update

from placehub.access import audit
from placehub.access.service import SYSTEM, Principal
from placehub.alerts import lifecycle
from placehub.alerts.rules import SEVERITY_ORDER
from placehub.alerts.tables import (
    alerts,
    digest_runs,
    notification_deliveries,
    team_subscriptions,
    teams,
)
from placehub.db import Database
from placehub.errors import BadRequest, NotFound
from placehub.sta.tables import things

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_RETRY_S = 30
MAX_RETRY_S = 3600
CHANNELS = ("webhook", "email")
NOTIFIED_EVENTS = ("opened", "resolved")


def signature(secret: str, body: bytes) -> str:
    """The ``X-Placehub-Signature`` header value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def retry_delay(attempts: int) -> timedelta:
    """Backoff before the next try after ``attempts`` failed ones."""
    return timedelta(seconds=min(FIRST_RETRY_S * 2 ** max(attempts - 1, 0), MAX_RETRY_S))


# --- teams and subscriptions -------------------------------------------------------------------

def create_team(conn: Connection, now: datetime, *, organisation_id: int, name: str,
                email: str | None = None, webhook_url: str | None = None,
                webhook_secret: str | None = None, daily_digest: bool = True,
                actor: Principal | str = SYSTEM) -> int:
    """Add a team that receives alerts by e-mail and/or webhook (audited)."""
    if not name.strip():
        raise BadRequest("a team needs a name")
    if webhook_url and urlparse(webhook_url).scheme not in ("http", "https"):
        raise BadRequest(f"webhook URL {webhook_url!r}: use an http:// or https:// URL")
    if webhook_url and not webhook_secret:
        raise BadRequest("a webhook needs a secret to sign its requests (webhook_secret)")
    if email and any("@" not in a for a in _addresses(email)):
        raise BadRequest(f"e-mail {email!r}: give addresses separated by commas")
    team_id = int(conn.execute(insert(teams).values(
        organisation_id=organisation_id, name=name.strip(), email=email or None,
        webhook_url=webhook_url or None, webhook_secret=webhook_secret or None,
        daily_digest=daily_digest, created_at=now,
    )).inserted_primary_key[0])  # type: ignore[index]
    audit.record(conn, actor, "create", "AlertTeam", team_id, {
        "name": name.strip(), "email": bool(email), "webhook": bool(webhook_url),
        "daily_digest": daily_digest}, organisation_id=organisation_id)
    return team_id


def _checked_subscription(conn: Connection, team_id: int, channels: list[str],
                          min_severity: str) -> Any:
    """The team, once the subscription's channels and severity are checked against it."""
    team = conn.execute(select(teams).where(teams.c.id == team_id)).first()
    if team is None:
        raise NotFound(f"no team {team_id}")
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown or not channels:
        raise BadRequest(f"channels {channels}: use webhook and/or email")
    if "webhook" in channels and not team.webhook_url:
        raise BadRequest(f"team {team.name!r} has no webhook URL")
    if "email" in channels and not team.email:
        raise BadRequest(f"team {team.name!r} has no e-mail address")
    if min_severity not in SEVERITY_ORDER:
        raise BadRequest(f"severity {min_severity!r}: use info, warning or critical")
    return team


def subscribe(conn: Connection, team_id: int, *, channels: list[str],
              rule_keys: list[str] | None = None, asset_types: list[str] | None = None,
              min_severity: str = "info", immediate: bool = True,
              actor: Principal | str = SYSTEM) -> int:
    """Tell a team about alerts of these rules / asset types at this severity or worse
    (audited)."""
    team = _checked_subscription(conn, team_id, channels, min_severity)
    values = {"channels": channels, "rule_keys": rule_keys or None,
              "asset_types": asset_types or None, "min_severity": min_severity,
              "immediate": immediate}
    subscription = int(conn.execute(insert(team_subscriptions).values(
        team_id=team_id, **values)).inserted_primary_key[0])  # type: ignore[index]
    audit.record(conn, actor, "create", "AlertSubscription", subscription,
                 {"team": team.name, **values}, organisation_id=team.organisation_id)
    return subscription


def subscription_team(conn: Connection, subscription_id: int) -> dict[str, Any]:
    """The team (id, organisation_id, name) a subscription belongs to; NotFound otherwise."""
    row = conn.execute(
        select(teams.c.id, teams.c.organisation_id, teams.c.name)
        .join(team_subscriptions, team_subscriptions.c.team_id == teams.c.id)
        .where(team_subscriptions.c.id == subscription_id)).first()
    if row is None:
        raise NotFound(f"no subscription {subscription_id}")
    return dict(row._mapping)


def update_subscription(conn: Connection, subscription_id: int, *, channels: list[str],
                        rule_keys: list[str] | None = None,
                        asset_types: list[str] | None = None, min_severity: str = "info",
                        immediate: bool = True, actor: Principal | str = SYSTEM) -> None:
    """Change what a subscription tells its team about (checked as ``subscribe``; audited)."""
    team = _checked_subscription(conn, subscription_team(conn, subscription_id)["id"],
                                 channels, min_severity)
    values = {"channels": channels, "rule_keys": rule_keys or None,
              "asset_types": asset_types or None, "min_severity": min_severity,
              "immediate": immediate}
    conn.execute(update(team_subscriptions).where(team_subscriptions.c.id == subscription_id)
                 .values(**values))
    audit.record(conn, actor, "update", "AlertSubscription", subscription_id,
                 {"team": team.name, **values}, organisation_id=team.organisation_id)


def unsubscribe(conn: Connection, subscription_id: int, *,
                actor: Principal | str = SYSTEM) -> None:
    """End a subscription: its team hears no more of those alerts (audited)."""
    team = subscription_team(conn, subscription_id)
    conn.execute(delete(team_subscriptions).where(team_subscriptions.c.id == subscription_id))
    audit.record(conn, actor, "delete", "AlertSubscription", subscription_id,
                 {"team": team["name"]}, organisation_id=team["organisation_id"])


def list_teams(conn: Connection, organisation_ids: list[int] | None = None
               ) -> list[dict[str, Any]]:
    query = select(teams).order_by(teams.c.id)
    if organisation_ids is not None:
        query = query.where(teams.c.organisation_id.in_(organisation_ids))
    out = []
    for team in conn.execute(query):
        subs = conn.execute(select(team_subscriptions).where(
            team_subscriptions.c.team_id == team.id)).all()
        out.append({
            "id": team.id, "organisation_id": team.organisation_id, "name": team.name,
            "email": team.email, "webhook_url": team.webhook_url,
            "daily_digest": team.daily_digest,
            "subscriptions": [{"id": s.id, "channels": s.channels, "rule_keys": s.rule_keys,
                               "asset_types": s.asset_types, "min_severity": s.min_severity,
                               "immediate": s.immediate} for s in subs],
        })
    return out


def _matches(sub: Any, alert: Any, asset_type: str | None) -> bool:
    if SEVERITY_ORDER[alert.severity] < SEVERITY_ORDER[sub.min_severity]:
        return False
    if sub.rule_keys and alert.rule_key not in sub.rule_keys:
        return False
    return not (sub.asset_types and asset_type not in sub.asset_types)


# --- the outbox --------------------------------------------------------------------------------

def enqueue_for_alerts(conn: Connection, events: dict[str, list[int]], now: datetime) -> int:
    """Queue deliveries for every matching immediate subscription (lifecycle listener).

    ``events`` maps "opened", "resolved", ... to alert ids: everything one transaction changed,
    so a batch of alerts costs one look at the subscriptions and one read of the alerts.
    """
    notified = [(event, ids) for event, ids in events.items() if event in NOTIFIED_EVENTS]
    wanted = sorted({alert_id for _, ids in notified for alert_id in ids})
    if not wanted:
        return 0
    # Most installations have few teams: skip the alert rows entirely when nobody listens.
    if conn.execute(select(team_subscriptions.c.id).where(
            team_subscriptions.c.immediate.is_(True)).limit(1)).first() is None:
        return 0
    rows = {row.id: row for row in conn.execute(
        select(alerts, things.c.organisation_id, things.c.properties.label("thing_properties"),
               things.c.name.label("thing_name"))
        .join(things, things.c.id == alerts.c.thing_id)
        .where(lifecycle.one_of(conn, alerts.c.id, wanted)))}
    subscriptions: dict[int, list[tuple[Any, Any]]] = {}
    deliveries = []
    # An alert that opened and resolved in the same transaction is told about twice, in order.
    for event, ids in notified:
        for alert_id in ids:
            row = rows[alert_id]
            if row.organisation_id not in subscriptions:
                subscriptions[row.organisation_id] = _team_subs(conn, row.organisation_id)
            if not subscriptions[row.organisation_id]:
                continue
            asset_type = (row.thing_properties or {}).get("asset_type")
            payload = {"event": f"alert.{event}", "sent_at": now.isoformat(),
                       "alert": {**lifecycle.alert_dict(row), "asset_type": asset_type}}
            for team, sub in subscriptions[row.organisation_id]:
                if not _matches(sub, row, asset_type):
                    continue
                for channel in sub.channels:
                    target = team.webhook_url if channel == "webhook" else team.email
                    if target:
                        deliveries.append({
                            "team_id": team.id, "alert_id": row.id, "channel": channel,
                            "event": event, "target": target, "payload": payload,
                            "status": "pending", "attempts": 0, "next_attempt_at": now,
                            "created_at": now})
    if deliveries:
        conn.execute(insert(notification_deliveries), deliveries)
    return len(deliveries)


def _team_subs(conn: Connection, organisation_id: int) -> list[tuple[Any, Any]]:
    team_rows = {t.id: t for t in conn.execute(
        select(teams).where(teams.c.organisation_id == organisation_id))}
    if not team_rows:
        return []
    subs = conn.execute(select(team_subscriptions).where(
        team_subscriptions.c.team_id.in_(list(team_rows)),
        team_subscriptions.c.immediate.is_(True))).all()
    return [(team_rows[s.team_id], s) for s in subs]


class Sender(Protocol):
    """Sends one delivery; raises on failure (the message is kept as the error)."""

    def __call__(self, delivery: Any, team: Any) -> None: ...


@dataclass
class WebhookSender:
    """POST the payload as JSON, signed with the team's secret; 2xx within the timeout is ok."""

    timeout: float = 10.0
    client: httpx.Client | None = None

    def __call__(self, delivery: Any, team: Any) -> None:
        body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "placehub-alerts",
            "X-Placehub-Event": str(delivery.payload.get("event", delivery.event)),
            "X-Placehub-Delivery": str(delivery.id),
            "X-Placehub-Signature": signature(team.webhook_secret or "", body),
        }
        client = self.client or httpx.Client(timeout=self.timeout)
        try:
            response = client.post(delivery.target, content=body, headers=headers)
        finally:
            if self.client is None:
                client.close()
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"HTTP {response.status_code} from {delivery.target}: "
                               f"{response.text[:200]}")


@dataclass
class EmailSender:
    """Send a plain-text e-mail over SMTP (smtplib) to the team's addresses."""

    smtp_url: str
    from_address: str = "placehub@localhost"
    timeout: float = 10.0

    def __call__(self, delivery: Any, team: Any) -> None:
        if not self.smtp_url:
            raise RuntimeError("no SMTP server configured (PLACEHUB_SMTP_URL)")
        message = EmailMessage()
        message["From"] = self.from_address
        message["To"] = ", ".join(_addresses(delivery.target))
        subject, text = email_text(delivery.payload)
        message["Subject"] = subject
        message.set_content(text)
        url = urlparse(self.smtp_url)
        port = url.port or (465 if url.scheme == "smtps" else 25)
        smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
        with smtp_class(url.hostname or "localhost", port, timeout=self.timeout) as smtp:
            if parse_qs(url.query).get("starttls") == ["1"]:
                smtp.starttls()
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message)


def email_text(payload: dict[str, Any]) -> tuple[str, str]:
    """Subject and body of an alert or digest e-mail."""
    if payload.get("event") == "digest":
        items = payload.get("alerts", [])
        lines = [f"{len(items)} alert(s) for {payload.get('team')} on {payload.get('day')}:", ""]
        for a in items:
            lines.append(f"- [{a['severity']}] {a['title']} ({a['status']}, opened "
                         f"{a['opened_at']}): {a['message']}")
        return f"[placehub] Daily alert digest {payload.get('day')}", "\n".join(lines) + "\n"
    if payload.get("event") == "service_request.closed":
        return (f"Your report {payload['service_request_id']} has been dealt with",
                f"Thank you for reporting: {payload['service_name']}.\n\n"
                f"{payload['status_notes']}\n\nReference: {payload['service_request_id']}\n"
                f"Status: {payload['status']} ({payload['updated_datetime']})\n")
    alert = payload["alert"]
    verb = "resolved" if payload.get("event") == "alert.resolved" else "opened"
    subject = f"[placehub] {alert['severity']}: {alert['title']} ({verb})"
    text = (f"{alert['title']}\n\n{alert['message']}\n\nSeverity: {alert['severity']}\n"
            f"Status: {alert['status']}\nOpened: {alert['opened_at']}\n"
            f"Alert id: {alert['id']} (acknowledge with 'placehub alerts ack {alert['id']}')\n")
    return subject, text


def _addresses(text: str) -> list[str]:
    return [a.strip() for a in text.split(",") if a.strip()]


# A claimed delivery is not due again for this long (its sender may be slow).
CLAIM = timedelta(minutes=5)


def _claim(database: Database, delivery_id: int, now: datetime) -> bool:
    """Take one due delivery for this process (several processes may deliver at once)."""
    t = notification_deliveries
    with database.begin() as conn:
        claimed = conn.execute(update(t).where(
            t.c.id == delivery_id, t.c.status == "pending", t.c.next_attempt_at <= now,
        ).values(next_attempt_at=now + CLAIM)).rowcount
    return bool(claimed)


def deliver_due(database: Database, now: datetime, senders: dict[str, Sender],
                limit: int = 100) -> dict[str, int]:
    """Send deliveries that are due; returns counts of delivered, retrying and failed."""
    with database.connect() as conn:
        due = conn.execute(
            select(notification_deliveries).where(
                notification_deliveries.c.status == "pending",
                notification_deliveries.c.next_attempt_at <= now)
            .order_by(notification_deliveries.c.next_attempt_at,
                      notification_deliveries.c.id).limit(limit)).all()
        team_rows = {t.id: t for t in conn.execute(select(teams).where(
            teams.c.id.in_({d.team_id for d in due})))} if due else {}
    counts = {"delivered": 0, "retrying": 0, "failed": 0}
    for delivery in due:
        attempts = delivery.attempts + 1
        if not _claim(database, delivery.id, now):
            continue  # another process is sending it
        try:
            sender = senders.get(delivery.channel)
            if sender is None:
                raise RuntimeError(f"no sender for channel {delivery.channel}")
            sender(delivery, team_rows[delivery.team_id])
        except Exception as error:  # noqa: BLE001 - any failure is recorded and retried
            failed = attempts >= MAX_ATTEMPTS
            values: dict[str, Any] = {
                "attempts": attempts, "last_error": f"{type(error).__name__}: {error}"[:2000],
                "status": "failed" if failed else "pending",
                "next_attempt_at": None if failed else now + retry_delay(attempts)}
            counts["failed" if failed else "retrying"] += 1
            log.warning("notification %s attempt %s failed: %s", delivery.id, attempts, error)
        else:
            values = {"attempts": attempts, "status": "delivered", "delivered_at": now,
                      "next_attempt_at": None}
            counts["delivered"] += 1
        with database.begin() as conn:
            conn.execute(update(notification_deliveries)
                         .where(notification_deliveries.c.id == delivery.id).values(**values))
    return counts


def list_deliveries(conn: Connection, *, status: str | None = None,
                    organisation_ids: list[int] | None = None, limit: int = 100
                    ) -> list[dict[str, Any]]:
    """Deliveries, newest first (``status`` pending, delivered or failed)."""
    query = (select(notification_deliveries, teams.c.name.label("team"),
                    teams.c.organisation_id)
             .join(teams, teams.c.id == notification_deliveries.c.team_id))
    if status:
        if status not in ("pending", "delivered", "failed"):
            raise BadRequest(f"status {status!r}: use pending, delivered or failed")
        query = query.where(notification_deliveries.c.status == status)
    if organisation_ids is not None:
        query = query.where(teams.c.organisation_id.in_(organisation_ids))
    rows = conn.execute(query.order_by(notification_deliveries.c.id.desc()).limit(limit))
    return [{"id": r.id, "team": r.team, "alert_id": r.alert_id, "channel": r.channel,
             "event": r.event, "target": r.target, "status": r.status, "attempts": r.attempts,
             "last_error": r.last_error,
             "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
             "delivered_at": r.delivered_at.isoformat() if r.delivered_at else None,
             "created_at": r.created_at.isoformat()} for r in rows]


def retry_delivery(conn: Connection, delivery_id: int, now: datetime) -> None:
    """Put a failed delivery back in the queue (after fixing the receiver)."""
    result = conn.execute(update(notification_deliveries).where(
        notification_deliveries.c.id == delivery_id).values(
        status="pending", next_attempt_at=now, attempts=0))
    if not result.rowcount:
        raise NotFound(f"no notification {delivery_id}")


# --- daily digest ------------------------------------------------------------------------------

def queue_digests(conn: Connection, now: datetime, digest_hour: int = 7) -> int:
    """Once a day after ``digest_hour`` UTC, queue each team's digest of the last 24 hours."""
    if now.hour < digest_hour:
        return 0
    day = now.date().isoformat()
    queued = 0
    for team in conn.execute(select(teams).where(teams.c.daily_digest.is_(True))).all():
        if conn.execute(select(digest_runs).where(
                digest_runs.c.team_id == team.id, digest_runs.c.day == day)).first():
            continue
        subs = conn.execute(select(team_subscriptions).where(
            team_subscriptions.c.team_id == team.id)).all()
        rows = conn.execute(
            select(alerts, things.c.properties.label("thing_properties"),
                   things.c.name.label("thing_name"))
            .join(things, things.c.id == alerts.c.thing_id)
            .where(things.c.organisation_id == team.organisation_id,
                   (alerts.c.opened_at >= now - timedelta(days=1))
                   | (alerts.c.status != "resolved"))
            .order_by(alerts.c.opened_at)).all()
        chosen = [lifecycle.alert_dict(r) for r in rows if any(
            _matches(s, r, (r.thing_properties or {}).get("asset_type")) for s in subs)]
        conn.execute(insert(digest_runs).values(team_id=team.id, day=day, sent_at=now))
        if not chosen:
            continue
        payload = {"event": "digest", "day": day, "team": team.name, "sent_at": now.isoformat(),
                   "alerts": chosen}
        for channel, target in (("email", team.email), ("webhook", team.webhook_url)):
            if target:
                conn.execute(insert(notification_deliveries).values(
                    team_id=team.id, alert_id=None, channel=channel, event="digest",
                    target=target, payload=payload, status="pending", attempts=0,
                    next_attempt_at=now, created_at=now))
                queued += 1
    return queued


def default_senders(settings: Any) -> dict[str, Sender]:
    return {"webhook": WebhookSender(),
            "email": EmailSender(settings.smtp_url, settings.alerts_from_address)}


def install() -> None:
    """Queue notifications whenever an alert opens or resolves (idempotent)."""
    if enqueue_for_alerts not in lifecycle.LISTENERS:
        lifecycle.LISTENERS.append(enqueue_for_alerts)

