"""Rules in the database: the built-in defaults per asset type and overrides per asset."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from placehub.access import audit
from placehub.access.service import SYSTEM, Principal
from placehub.alerts.rules import (
    DEFAULT_RULES,
    KINDS,
    SUPERSEDED_DEFAULTS,
    Rule,
    merge_params,
    validate_rule,
)
from placehub.alerts.tables import alert_rules
from placehub.errors import BadRequest, NotFound
from placehub.sta.tables import things


def row_to_rule(row: Any) -> Rule:
    """A ``Rule`` from one row of the alert_rules table."""
    return Rule(
        id=int(row.id), key=row.key, name=row.name, kind=row.kind, params=dict(row.params or {}),
        severity=row.severity, quantity=row.quantity, asset_type=row.asset_type,
        thing_id=row.thing_id, enabled=bool(row.enabled), hold_off_s=int(row.hold_off_s),
        auto_resolve=bool(row.auto_resolve),
    )


def ensure_default_rules(conn: Connection, now: datetime) -> int:
    """Insert the built-in rules that are missing and bring unedited built-ins of earlier
    versions up to date (never changing edited ones); returns how many were added."""
    stored = conn.execute(
        select(alert_rules.c.id, alert_rules.c.asset_type, alert_rules.c.key, alert_rules.c.kind,
               alert_rules.c.params, alert_rules.c.builtin)
        .where(alert_rules.c.thing_id.is_(None))).all()
    existing = {(r.asset_type, r.key) for r in stored}
    defaults = {(d.asset_type, d.key): d for d in DEFAULT_RULES}
    for row in stored:
        default = defaults.get((row.asset_type, row.key))
        if (default is not None and row.builtin and (row.kind, dict(row.params or {}))
                in SUPERSEDED_DEFAULTS.get(row.key, [])):
            conn.execute(update(alert_rules).where(alert_rules.c.id == row.id).values(
                name=default.name, kind=default.kind, params=default.params,
                quantity=default.quantity, hold_off_s=default.hold_off_s, updated_at=now))
    rows = [
        {"key": d.key, "name": d.name, "kind": d.kind, "asset_type": d.asset_type,
         "thing_id": None, "quantity": d.quantity, "params": d.params, "severity": d.severity,
         "enabled": True, "hold_off_s": d.hold_off_s, "auto_resolve": d.auto_resolve,
         "builtin": True, "updated_at": now}
        for d in DEFAULT_RULES if (d.asset_type, d.key) not in existing
    ]
    if rows:
        conn.execute(insert(alert_rules), rows)
    return len(rows)


def load_rules(conn: Connection) -> list[Rule]:
    """Every alert rule, in id order."""
    return [row_to_rule(r) for r in conn.execute(select(alert_rules).order_by(alert_rules.c.id))]


def rules_version(conn: Connection) -> tuple[Any, ...]:
    """Changes whenever a rule is added, edited or removed (so engines reload their cache)."""
    return tuple(conn.execute(
        select(func.count(), func.max(alert_rules.c.updated_at), func.max(alert_rules.c.id))
    ).one())


def effective_rules(rules: list[Rule], thing_id: int, asset_type: str | None) -> list[Rule]:
    """The enabled rules of one asset: its own overrides, then its asset type's defaults."""
    by_key: dict[str, Rule] = {}
    for rule in rules:
        if rule.thing_id is None and rule.asset_type == asset_type and asset_type:
            by_key.setdefault(rule.key, rule)
    for rule in rules:
        if rule.thing_id == thing_id:
            by_key[rule.key] = rule
    return [r for r in by_key.values() if r.enabled]


def get_rule(conn: Connection, rule_id: int) -> Rule:
    """The rule with ``rule_id``; NotFound says how to list them."""
    row = conn.execute(select(alert_rules).where(alert_rules.c.id == rule_id)).first()
    if row is None:
        raise NotFound(f"no alert rule {rule_id}: list them with 'placehub alerts rules list'")
    return row_to_rule(row)


def create_rule(conn: Connection, now: datetime, *, key: str, name: str, kind: str,
                params: dict[str, Any], asset_type: str | None = None,
                thing_id: int | None = None, quantity: str | None = None,
                severity: str = "warning", hold_off_s: int = 0, auto_resolve: bool = True,
                enabled: bool = True, actor: Principal | str = SYSTEM) -> int:
    """Add a rule for an asset type or one asset (audited); the definition is checked first."""
    try:
        validate_rule(kind, params, severity)
    except ValueError as error:
        raise BadRequest(str(error)) from None
    if (asset_type is None) == (thing_id is None):
        raise BadRequest("give exactly one of asset_type (all assets of a type) or thing_id "
                         "(one asset)")
    if hold_off_s < 0:
        raise BadRequest("hold_off_s must be 0 or more seconds")
    if KINDS[kind].scope == "datastream" and KINDS[kind].quantities(
            Rule(0, key, name, kind, params, quantity=quantity)) == ():
        raise BadRequest(f"a {kind} rule needs the quantity it watches, e.g. fill_level")
    rule_id = int(conn.execute(insert(alert_rules).values(
        key=key, name=name, kind=kind, asset_type=asset_type, thing_id=thing_id,
        quantity=quantity, params=params, severity=severity, enabled=enabled,
        hold_off_s=hold_off_s, auto_resolve=auto_resolve, builtin=False, updated_at=now,
    )).inserted_primary_key[0])  # type: ignore[index]
    _audit(conn, actor, "create", rule_id, thing_id, {
        "key": key, "kind": kind, "asset_type": asset_type, "thing_id": thing_id,
        "params": params, "severity": severity, "enabled": enabled})
    return rule_id


def _audit(conn: Connection, actor: Principal | str, action: str, rule_id: int,
           thing_id: int | None, detail: dict[str, Any]) -> None:
    """Record a rule change; an override for one asset is its organisation's, a rule for an
    asset type the installation's (``audit.INSTALLATION_ENTITIES``)."""
    organisation = None
    if thing_id is not None:
        organisation = conn.execute(select(things.c.organisation_id).where(
            things.c.id == thing_id)).scalar()
    audit.record(conn, actor, action, "AlertRule", rule_id, detail,
                 organisation_id=organisation)


def override_rule(conn: Connection, now: datetime, thing_id: int, key: str, *,
                  params: dict[str, Any] | None = None, enabled: bool | None = None,
                  severity: str | None = None, hold_off_s: int | None = None,
                  actor: Principal | str = SYSTEM) -> int:
    """Override the rule ``key`` for one asset (creating the override from its asset type's;
    audited)."""
    ensure_default_rules(conn, now)
    thing = conn.execute(select(things.c.id, things.c.properties).where(things.c.id == thing_id)
                         ).first()
    if thing is None:
        raise NotFound(f"no Thing {thing_id}")
    asset_type = (thing.properties or {}).get("asset_type")
    rows = [r for r in load_rules(conn) if r.key == key and (
        r.thing_id == thing_id or (r.thing_id is None and r.asset_type == asset_type))]
    own = next((r for r in rows if r.thing_id == thing_id), None)
    base = own or next((r for r in rows if r.thing_id is None), None)
    if base is None:
        raise NotFound(f"no rule {key!r} for {asset_type or 'this asset'}: see 'placehub alerts "
                       "rules list'")
    merged = merge_params(base.params, params or {})
    new_severity = severity or base.severity
    try:
        validate_rule(base.kind, merged, new_severity)
    except ValueError as error:
        raise BadRequest(str(error)) from None
    values = {"params": merged, "severity": new_severity,
              "enabled": base.enabled if enabled is None else enabled,
              "hold_off_s": base.hold_off_s if hold_off_s is None else hold_off_s,
              "updated_at": now}
    detail = {k: v for k, v in values.items() if k != "updated_at"}
    if own is not None:
        conn.execute(update(alert_rules).where(alert_rules.c.id == own.id).values(**values))
        _audit(conn, actor, "update", own.id, thing_id, detail)
        return own.id
    rule_id = int(conn.execute(insert(alert_rules).values(
        key=key, name=base.name, kind=base.kind, asset_type=None, thing_id=thing_id,
        quantity=base.quantity, auto_resolve=base.auto_resolve, builtin=False, **values,
    )).inserted_primary_key[0])  # type: ignore[index]
    _audit(conn, actor, "create", rule_id, thing_id, {"key": key, "override_of": base.id,
                                                      **detail})
    return rule_id


def update_rule(conn: Connection, now: datetime, rule_id: int, *,
                actor: Principal | str = SYSTEM, **changes: Any) -> None:
    """Change a rule's params (merged), severity, hold-off, name or enabled flag (audited)."""
    rule = get_rule(conn, rule_id)
    values: dict[str, Any] = {"updated_at": now}
    if changes.get("params") is not None:
        values["params"] = merge_params(rule.params, changes["params"])
    for name in ("severity", "enabled", "hold_off_s", "name"):
        if changes.get(name) is not None:
            values[name] = changes[name]
    try:
        validate_rule(rule.kind, values.get("params", rule.params),
                      values.get("severity", rule.severity))
    except ValueError as error:
        raise BadRequest(str(error)) from None
    conn.execute(update(alert_rules).where(alert_rules.c.id == rule_id).values(**values))
    changed = {k: v for k, v in values.items() if k != "updated_at"}
    action = ("disable" if changed == {"enabled": False}
              else "enable" if changed == {"enabled": True} else "update")
    _audit(conn, actor, action, rule_id, rule.thing_id, changed)


def delete_rule(conn: Connection, rule_id: int) -> None:
    """Delete the rule with ``rule_id`` (NotFound if there is none)."""
    get_rule(conn, rule_id)
    conn.execute(delete(alert_rules).where(alert_rules.c.id == rule_id))


def rule_dict(rule: Rule) -> dict[str, Any]:
    """A rule as JSON for the API and the CLI."""
    return {"id": rule.id, "key": rule.key, "name": rule.name, "kind": rule.kind,
            "asset_type": rule.asset_type, "thing_id": rule.thing_id,
            "quantity": rule.quantity, "params": rule.params, "severity": rule.severity,
            "enabled": rule.enabled, "hold_off_s": rule.hold_off_s,
            "auto_resolve": rule.auto_resolve}
