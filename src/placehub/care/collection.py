"""Whether a home's sensors may be collected: only while the resident's consent stands.

Kept apart from ``care.service`` so ingest can ask without importing the rest of care.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, exists, select

from placehub.care.tables import care_consents, care_residents

WITHDRAWN = "consent withdrawn"
NO_CONSENT = "no consent recorded"


def stopped(conn: Connection, organisation_ids: Iterable[int]) -> dict[int, str]:
    """Care-circle organisations among ``organisation_ids`` without a current consent, with
    the reason collection is stopped (other organisations are not care circles: absent)."""
    wanted = sorted({int(i) for i in organisation_ids if i is not None})
    if not wanted:
        return {}
    c = care_consents.c
    current = exists().where(c.resident_id == care_residents.c.id, c.withdrawn_at.is_(None))
    withdrawn = exists().where(c.resident_id == care_residents.c.id, c.withdrawn_at.isnot(None))
    rows = conn.execute(select(care_residents.c.organisation_id, withdrawn.label("withdrawn"))
                        .where(care_residents.c.organisation_id.in_(wanted), ~current))
    return {int(r.organisation_id): WITHDRAWN if r.withdrawn else NO_CONSENT for r in rows}
