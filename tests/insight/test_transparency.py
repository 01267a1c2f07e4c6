"""Transparency records: every shipped record has the ATRS Tier 1 and Tier 2 fields."""

from __future__ import annotations

import pytest

from placehub.insight.transparency import RecordError, load_records, parse_record


def test_shipped_records_parse_and_take_council_fields_from_settings() -> None:
    """The four records load; empty organisation and contact are filled from settings."""
    records = load_records(organisation="Rutland County Council",
                           contact_email="data@rutland.gov.uk")
    assert [r.id for r in records] == ["alert-rules", "composite-index", "planning-tools",
                                     "rounds-planning"]
    for record in records:
        assert record.tier1["contact_email"] == "data@rutland.gov.uk"
        assert record.tier2["owner"]["organisation"] == "Rutland County Council"
        assert record.tier2["risks"] and record.tier2["data"]


def test_a_record_missing_fields_names_them() -> None:
    """A record without Tier 2 risks or a Tier 1 website lists exactly what is missing."""
    document = {"id": "x", "tier1": {"name": "X", "description": "d", "contact_email": "",
                                     "organisation": "", "how_used": ""},
                "tier2": {}}
    with pytest.raises(RecordError) as error:
        parse_record(document, "x.toml")
    assert "tier1.website" in str(error.value) and "tier2.risks" in str(error.value)
    assert "tier2.decision_making.human_decisions_and_review" in str(error.value)
