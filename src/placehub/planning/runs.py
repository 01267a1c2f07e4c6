"""The record each planning job keeps of its inputs and of the software that computed it, so a
result can be traced and repeated (as round plans record their solver and seed)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from placehub import __version__
from placehub.access.service import Principal
from placehub.governance.runs import RunRecord
from placehub.places.roads import RoadNetwork, file_fingerprint

LIBRARIES = ("shapely", "scipy", "numpy")


def versions() -> dict[str, str]:
    """placehub's version and those of the libraries that did the geometry and routing."""
    found = {"placehub": __version__}
    for name in LIBRARIES:
        found[name] = importlib.metadata.version(name)
    return found


def digest(value: Any) -> str:
    """A short SHA-256 of a JSON-able value (an area, a list of facilities)."""
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def network_input(network: RoadNetwork | None) -> dict[str, Any] | None:
    """Which road network was used: its source extract and size."""
    if network is None:
        return None
    source = Path(network.source) if network.source else None
    entry: dict[str, Any] = {"source": network.source, "nodes": network.node_count,
                             "edges": network.edge_count}
    if source is not None and source.exists():
        entry["fingerprint"] = file_fingerprint(source)
    return entry


def run_record(job: str, inputs: dict[str, Any], at: datetime | None = None) -> dict[str, Any]:
    """The record of one run: job, time, inputs and versions."""
    return {"job": job, "at": (at or datetime.now(UTC)).isoformat(), "inputs": inputs,
            "versions": versions()}


def kept_record(result: dict[str, Any], principal: Principal, seconds: float) -> RunRecord:
    """The run record a job's result carries, as the hub keeps it (algorithm
    ``planning-<job>``; its counted inputs as volumes)."""
    run = result["run"]
    inputs = run["inputs"]
    version = "; ".join(f"{name} {number}" for name, number in run["versions"].items())
    return RunRecord(
        f"planning-{run['job']}", datetime.fromisoformat(run["at"]), round(seconds, 4),
        inputs, version=version, actor=principal.username,
        volumes={key: value for key, value in inputs.items()
                 if isinstance(value, int) and not isinstance(value, bool)})
