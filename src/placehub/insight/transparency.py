"""Algorithmic transparency records (UK Algorithmic Transparency Recording Standard).

One TOML file per algorithm in ``placehub/insight/transparency/``, holding the Tier 1 fields
(name, description, website, contact) and the Tier 2 fields (owner and responsibility,
description and rationale, decision-making process, tool and data details, risks and
mitigations, impact assessments). Fields a council must fill in (contact, organisation) come from
settings when the file leaves them empty.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECORDS_DIR = Path(__file__).with_name("transparency")

TIER1_FIELDS = ("name", "description", "website", "contact_email", "organisation", "how_used")
TIER2_SECTIONS = {
    "owner": ("organisation", "team", "senior_responsible_owner", "supplier",
              "third_party_access"),
    "description": ("detailed_description", "scope", "benefits", "alternatives_considered"),
    "decision_making": ("process_integration", "information_provided", "frequency_and_scale",
                        "human_decisions_and_review", "required_training",
                        "appeals_and_review"),
    "tool": ("architecture", "phase", "maintenance", "models", "parameters"),
}
DATA_FIELDS = ("name", "description", "url", "licence", "personal_data", "collection")
RISK_FIELDS = ("risk", "mitigation")


class RecordError(ValueError):
    """A transparency record file that lacks a field of the standard."""


@dataclass(frozen=True)
class TransparencyRecord:
    """One algorithm's record: its id, Tier 1 and Tier 2."""

    id: str
    version: str
    updated: str
    tier1: dict[str, Any]
    tier2: dict[str, Any]
    # [[history]] of the file: date, version and what changed in the record's text.
    history: tuple[dict[str, Any], ...] = ()
    # The run-record algorithm ids this record covers (``run_algorithms``; default its id).
    run_algorithms: tuple[str, ...] = ()

    @property
    def algorithms(self) -> tuple[str, ...]:
        """The algorithm ids of the run records behind this record."""
        return self.run_algorithms or (self.id,)

    def summary(self) -> dict[str, Any]:
        """Tier 1 and a link to the full record."""
        return {"id": self.id, "version": self.version, "updated": self.updated,
                **self.tier1, "url": f"/api/transparency/{self.id}"}

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "updated": self.updated,
                "standard": "UK Algorithmic Transparency Recording Standard, Tier 1 and Tier 2",
                "tier1": self.tier1, "tier2": self.tier2}


def parse_record(document: dict[str, Any], where: str, *, organisation: str = "",
                 contact_email: str = "") -> TransparencyRecord:
    """Check every field of the standard is present, fill council fields from settings."""
    for key in ("id", "tier1", "tier2"):
        if key not in document:
            raise RecordError(f"{where}: missing {key}")
    tier1 = dict(document["tier1"])
    missing = [f"tier1.{f}" for f in TIER1_FIELDS if f not in tier1]
    tier2 = dict(document["tier2"])
    for section, fields in TIER2_SECTIONS.items():
        table = tier2.get(section, {})
        missing += [f"tier2.{section}.{f}" for f in fields if f not in table]
    for kind, fields in (("data", DATA_FIELDS), ("risks", RISK_FIELDS)):
        entries = tier2.get(kind, [])
        if not entries:
            missing.append(f"tier2.{kind}")
        for n, entry in enumerate(entries):
            missing += [f"tier2.{kind}[{n}].{f}" for f in fields if f not in entry]
    if "impact_assessments" not in tier2:
        missing.append("tier2.impact_assessments")
    if missing:
        raise RecordError(f"{where}: missing {', '.join(missing)}")
    if not tier1["organisation"]:
        tier1["organisation"] = organisation
    if not tier1["contact_email"]:
        tier1["contact_email"] = contact_email
    owner = dict(tier2["owner"])
    if not owner["organisation"]:
        owner["organisation"] = organisation
    tier2["owner"] = owner
    history = tuple(dict(entry) for entry in document.get("history", []))
    return TransparencyRecord(str(document["id"]), str(document.get("version", "1")),
                              str(document.get("updated", "")), tier1, tier2, history,
                              tuple(str(a) for a in document.get("run_algorithms", [])))


def load_records(directory: Path = RECORDS_DIR, *, organisation: str = "",
                 contact_email: str = "") -> list[TransparencyRecord]:
    """Every record file in ``directory``, by id."""
    records = []
    for path in sorted(directory.glob("*.toml")):
        document = tomllib.loads(path.read_text(encoding="utf-8"))
        records.append(parse_record(document, str(path), organisation=organisation,
                                    contact_email=contact_email))
    return records
