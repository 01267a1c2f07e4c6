"""A simulated week of parking bay sensors: arrivals and stays that follow a town-centre demand
curve (busy weekday daytimes and Saturdays, quiet nights and Sunday mornings).

Each bay alternates between occupied stays (mean ``MEAN_STAY_MIN``) and free spells, with an
arrival rate that balances departures at the demand of the hour; sensors report every
change and a heartbeat every ``HEARTBEAT_H`` hours, as Nwave and Bosch bay sensors do.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from placehub.planning.parking import BayHistory

MEAN_STAY_MIN = 95.0
HEARTBEAT_H = 6
STEP_MIN = 5


def demand(weekday: int, hour: int, busyness: float = 1.0) -> float:
    """Expected share of bays occupied at a local weekday (0=Monday) and hour."""
    if hour < 7 or hour >= 20:
        base = 0.08
    elif weekday == 6:
        base = 0.25 if hour < 10 else 0.55
    else:
        shape = {7: 0.35, 8: 0.6, 9: 0.8, 10: 0.9, 11: 0.95, 12: 0.97, 13: 0.95, 14: 0.9,
                 15: 0.85, 16: 0.75, 17: 0.55, 18: 0.35, 19: 0.2}
        base = shape[hour] * (1.0 if weekday == 5 else 0.92)
    return float(min(0.99, max(0.02, base * busyness)))


def _rng(seed: int, key: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def simulate_car_park(car_park: str, bays: int, start: datetime, days: int, seed: int,
                      busyness: float = 1.0, timezone: str = "Europe/London"
                      ) -> list[BayHistory]:
    """Every bay of a car park over ``days`` from ``start`` (UTC).

    Steps of ``STEP_MIN`` minutes: an occupied bay empties with probability step/stay, a free
    one fills at the rate that keeps the hour's demand in balance (arrivals = departures at
    occupancy ``d``: rate d / (1 - d) / stay); a change happens at a random moment in its step.
    """
    rng = _rng(seed, car_park)
    zone = ZoneInfo(timezone)
    step = STEP_MIN * 60.0
    t0 = start.timestamp()
    steps = int(days * 86400 / step)
    first = demand(start.astimezone(zone).weekday(), start.astimezone(zone).hour, busyness)
    state = rng.random(bays) < first
    times: list[list[float]] = [[t0] for _ in range(bays)]
    states: list[list[bool]] = [[bool(s)] for s in state]
    leave = step / (MEAN_STAY_MIN * 60)
    for k in range(steps):
        at = t0 + k * step
        local = datetime.fromtimestamp(at, zone)
        share = demand(local.weekday(), local.hour, busyness)
        arrive = min(1.0, share / (1 - share) * leave)
        draw = rng.random(bays)
        flip = np.where(state, draw < leave, draw < arrive)
        moments = at + rng.random(bays) * step
        for bay in np.flatnonzero(flip):
            state[bay] = not state[bay]
            times[bay].append(float(moments[bay]))
            states[bay].append(bool(state[bay]))
    end = t0 + days * 86400.0
    found = []
    for b in range(bays):
        changes = np.array(times[b])
        values = np.array(states[b])
        # Heartbeats repeat the current state.
        beats = np.arange(t0 + HEARTBEAT_H * 3600, end, HEARTBEAT_H * 3600)
        index = np.searchsorted(changes, beats, side="right") - 1
        all_times = np.concatenate([changes, beats])
        order = np.argsort(all_times, kind="stable")
        found.append(BayHistory(b, car_park, all_times[order],
                                np.concatenate([values, values[index]])[order]))
    return found


def week_start(now: datetime, timezone: str = "Europe/London", days: int = 7) -> datetime:
    """Local midnight ``days`` days before ``now``'s local day, in UTC."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return (local - timedelta(days=days)).astimezone(ZoneInfo("UTC"))
