"""Alert triage: the officer's list one page at a time, many alerts of one kind shown as one
row ("38 litter bins predicted to overflow in the next 24 hours"), and the choices of its
filters.

Counting, grouping and paging run in SQL (GROUP BY, COUNT, LIMIT/OFFSET), so a list over
thousands of alerts costs three small queries, never a read of every alert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, and_, case, func, not_, or_, select

from placehub.access.service import Principal
from placehub.alerts.lifecycle import (
    NEWEST_FIRST,
    WARD_LAYER,
    AlertFilter,
    alert_dict,
    alert_rows,
    asset_type_column,
    filter_conditions,
)
from placehub.alerts.rules import SEVERITY_ORDER
from placehub.alerts.tables import alert_rules, alerts
from placehub.assets.types import asset_type_label
from placehub.errors import BadRequest
from placehub.places.queries import place_names
from placehub.sta.tables import things

# This many alerts of one rule on one type of asset are one row of the list.
GROUP_AT = 5
PER_PAGE = 50

_RANK = case(SEVERITY_ORDER, value=alerts.c.severity, else_=0)
_SEVERITY_OF_RANK = {rank: name for name, rank in SEVERITY_ORDER.items()}


@dataclass(frozen=True)
class AlertGroup:
    """Alerts of one rule on one type of asset, counted: "{count} {asset_label}s {predicate}"."""

    rule_key: str
    asset_type: str
    count: int
    severity: str
    predicate: str  # "predicted to overflow in the next 24 hours"

    @property
    def asset_label(self) -> str:
        """The assets' type as people read it, lower case ("litter bin")."""
        return asset_type_label(self.asset_type).lower()

    def narrowed(self, wanted: AlertFilter) -> AlertFilter:
        """``wanted`` narrowed to this group's alerts (the list its row links to)."""
        return replace(wanted, rule_key=self.rule_key, asset_type=self.asset_type)


@dataclass
class AlertPage:
    """One page of a filtered alert list: the groups (on every page), the alerts not in a
    group on this page, and the counts paging needs."""

    groups: list[AlertGroup]
    alerts: list[dict[str, Any]]
    number: int
    pages: int
    ungrouped: int  # alerts listed one by one, over all pages

    @property
    def total(self) -> int:
        """Every alert the filter keeps, grouped or not."""
        return self.ungrouped + sum(g.count for g in self.groups)


def _predicate(kind: str, name: str, params: dict[str, Any]) -> str:
    """What the alerts of a rule say about their assets, after "38 litter bins ..."."""
    if kind == "forecast":
        what = str(params.get("what") or "predicted to cross their line")
        hours = params.get("within_h")
        return f"{what} in the next {hours:g} hours" if isinstance(hours, int | float) else what
    fixed = {"battery_low": "with a low battery", "no_data": "with a silent sensor",
             "frame_loss": "losing uplinks", "tilt": "knocked over",
             "location_changed": "moved from where they were put"}
    if kind in fixed:
        return fixed[kind]
    return f"with the alert “{name}”"


def _rule_names(conn: Connection) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Rule key -> (name, kind, params) of the rules for a whole asset type (not overrides)."""
    found: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for row in conn.execute(select(alert_rules.c.key, alert_rules.c.name, alert_rules.c.kind,
                                   alert_rules.c.params)
                            .where(alert_rules.c.thing_id.is_(None))
                            .order_by(alert_rules.c.id)):
        found.setdefault(str(row.key), (str(row.name), str(row.kind), dict(row.params or {})))
    return found


def rule_predicate(rule_key: str, rule: tuple[str, str, dict[str, Any]] | None) -> str:
    """What a rule's alerts say about their assets: "38 litter bins" + "full"."""
    name, kind, params = rule or (rule_key.replace("_", " "), "", {})
    special = {"bin_full": "full", "soil_dry": "dry"}
    return special.get(rule_key) or _predicate(kind, name, params)


def alert_groups(conn: Connection, principal: Principal, wanted: AlertFilter,
                 group_at: int = GROUP_AT) -> list[AlertGroup]:
    """Rules with at least ``group_at`` alerts on one asset type under ``wanted``, worst first,
    then the biggest."""
    asset_type = asset_type_column().label("asset_type")
    rows = conn.execute(
        select(alerts.c.rule_key, asset_type, func.count().label("n"),
               func.max(_RANK).label("rank"))
        .select_from(alerts.join(things, things.c.id == alerts.c.thing_id))
        .where(*filter_conditions(principal, wanted))
        .group_by(alerts.c.rule_key, asset_type)
        .having(func.count() >= group_at)).all()
    if not rows:
        return []
    rules = _rule_names(conn)
    groups = [AlertGroup(str(r.rule_key), str(r.asset_type), int(r.n),
                         _SEVERITY_OF_RANK.get(int(r.rank or 0), "info"),
                         rule_predicate(str(r.rule_key), rules.get(str(r.rule_key))))
              for r in rows]
    return sorted(groups, key=lambda g: (-SEVERITY_ORDER[g.severity], -g.count, g.rule_key,
                                         g.asset_type))


def alert_page(conn: Connection, principal: Principal, wanted: AlertFilter, page: int = 1,
               per_page: int = PER_PAGE, group_at: int | None = GROUP_AT) -> AlertPage:
    """Page ``page`` (from 1) of the alerts ``wanted`` keeps, newest first.

    Unless the filter names a rule (or ``group_at`` is None), rules with ``group_at`` or more
    alerts on one asset type are groups, and the pages list the other alerts. A page past the
    last shows the last (the list may have shrunk since the link was made).
    """
    if page < 1:
        raise BadRequest(f"page {page}: use a whole number from 1")
    groups = ([] if group_at is None or wanted.rule_key or wanted.thing_id is not None
              else alert_groups(conn, principal, wanted, group_at))
    conditions = filter_conditions(principal, wanted)
    if groups:
        kind = asset_type_column()
        conditions.append(not_(or_(*[and_(alerts.c.rule_key == g.rule_key,
                                          kind == g.asset_type) for g in groups])))
    ungrouped = int(conn.execute(
        select(func.count()).select_from(alerts.join(things, things.c.id == alerts.c.thing_id))
        .where(*conditions)).scalar_one())
    pages = max(1, math.ceil(ungrouped / per_page))
    number = min(page, pages)
    rows = conn.execute(alert_rows(conditions).order_by(*NEWEST_FIRST)
                        .limit(per_page).offset((number - 1) * per_page))
    return AlertPage(groups, [alert_dict(r) for r in rows], number, pages, ungrouped)


@dataclass(frozen=True)
class FilterChoices:
    """The options of the list's filters: (value, label) pairs, "" meaning any."""

    rules: list[tuple[str, str]]
    asset_types: list[tuple[str, str]]
    wards: list[tuple[str, str]]


def filter_choices(conn: Connection) -> FilterChoices:
    """The rules (by key), asset types with rules, and wards an alert list can be narrowed to."""
    rules: dict[str, str] = {}
    types: set[str] = set()
    for row in conn.execute(select(alert_rules.c.key, alert_rules.c.name,
                                   alert_rules.c.asset_type)
                            .where(alert_rules.c.thing_id.is_(None))
                            .order_by(alert_rules.c.id)):
        rules.setdefault(str(row.key), str(row.name))
        if row.asset_type:
            types.add(str(row.asset_type))
    return FilterChoices(
        rules=sorted(rules.items(), key=lambda item: item[1].lower()),
        asset_types=sorted(((t, asset_type_label(t)) for t in types), key=lambda i: i[1]),
        wards=place_names(conn, WARD_LAYER))


def checked_filter(choices: FilterChoices, *, status: str, severity: str, rule: str,
                   asset_type: str, ward: str) -> AlertFilter:
    """The filter a list's query string asks for; a value none of the choices has is refused
    with what to use instead (a link may be older than a rule or ward it named)."""
    for value, options, what in ((rule, choices.rules, "rule"),
                                 (asset_type, choices.asset_types, "type"),
                                 (ward, choices.wards, "ward")):
        if value and value not in {v for v, _ in options}:
            listed = ", ".join(v for v, _ in options[:8]) or "none are set up"
            raise BadRequest(f"{what} {value[:40]!r} not understood: use one of {listed}"
                             f"{' ...' if len(options) > 8 else ''}, or leave it empty")
    return AlertFilter(status=status or None, severity=severity or None, rule_key=rule or None,
                       asset_type=asset_type or None, ward=ward or None)
