"""Hostile traffic for ingest tests: real TTS and ChirpStack messages, mutated.

The bases are real message shapes (``messages.py``) carrying the real vendor example payloads
of the LoRaWAN device repository (``PLACEHUB_DATA_DIR/lorawan/uplink_examples.json``); the
Hypothesis strategy replaces, deletes or adds values at any path with what network servers,
formatters and attackers have been seen to send.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from .messages import chirpstack_event, chirpstack_uplink, tts_uplink

HOSTILE_VALUES: list[Any] = [
    None, "", "\u0000", "bin\u0000lid", 2**63 + 5, -1, 2**32, 1e308, True, [], {}, ["gw", 5],
    "0001-01-01T00:00:00Z", "2999-01-01T00:00:00Z", "not a time", "x" * 5000, "ÿ" * 300,
    {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {}}}}}}}}}}},
    "AAAA====", "260B7A2C" * 4, "zz", 3.5, -(2**70),
]


def example_payloads(data_dir: Path) -> list[tuple[int, bytes]]:
    """(fPort, bytes) of every vendor example in the shared data."""
    examples = json.loads((data_dir / "lorawan" / "uplink_examples.json").read_text())
    return [(e["fPort"], bytes.fromhex(e["bytes_hex"])) for e in examples["examples"]]


def base_messages(data_dir: Path, dev_euis: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    """(network, event, body) real-shaped messages with the real example payloads."""
    bases: list[tuple[str, str, dict[str, Any]]] = []
    for index, (f_port, payload) in enumerate(example_payloads(data_dir)):
        eui = dev_euis[index % len(dev_euis)]
        bases.append(("tts", "up", tts_uplink(eui, payload, 1000 + index, f_port)))
        bases.append(("chirpstack", "up", chirpstack_uplink(eui, payload, 1000 + index, f_port)))
    from .messages import BASE_TIME

    bases.append(("chirpstack", "status", chirpstack_event(
        "status", dev_euis[0], BASE_TIME, batteryLevel=81.5, margin=7)))
    bases.append(("chirpstack", "log", chirpstack_event(
        "log", dev_euis[0], BASE_TIME, level="ERROR", code="UPLINK_F_CNT_RESET",
        description="frame-counter reset")))
    return bases


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


def mutate(body: dict[str, Any], path: tuple[Any, ...], action: str, value: Any) -> Any:
    """A copy of ``body`` with the value at ``path`` replaced, deleted or given a sibling."""
    mutated = copy.deepcopy(body)
    if not path:
        return value if action == "replace" else mutated
    parent = mutated
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "add" and isinstance(parent, dict):
        parent[f"{last}_extra"] = value
    else:
        parent[last] = value
    return mutated


@st.composite
def hostile_message(draw: st.DrawFn, bases: list[tuple[str, str, dict[str, Any]]]
                    ) -> tuple[str, str, bytes]:
    """One real message with one to three mutations, as (network, event, raw body)."""
    network, event, body = draw(st.sampled_from(bases))
    message: Any = body
    for _ in range(draw(st.integers(1, 3))):
        if not isinstance(message, dict):
            break
        path = draw(st.sampled_from(_paths(message)))
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        value = draw(st.one_of(
            st.sampled_from(HOSTILE_VALUES),
            st.text(max_size=40),
            st.integers(min_value=-(2**70), max_value=2**70),
        ))
        message = mutate(message, path, action, value)
    raw = json.dumps(message, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        raw = raw[: draw(st.integers(0, len(raw)))]  # cut short
    return network, event, raw
