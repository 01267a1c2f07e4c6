"""Rate limits on reports per client (an address, or a posting system's key name): at most
``limit`` in any ``window`` seconds, counted in the server process."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from placehub.errors import PlacehubError

# Clients remembered at once; the least recently seen are forgotten first.
MAX_CLIENTS = 10_000


class TooManyReports(PlacehubError):
    """429 with Retry-After."""

    status_code = 429

    def __init__(self, seconds: int) -> None:
        super().__init__(f"too many reports from here: try again in {seconds // 60 + 1} "
                         "minutes, or phone the council if it is urgent")
        self.headers = {"Retry-After": str(seconds)}


class ReportThrottle:
    """A sliding window of report times per client."""

    def __init__(self, limit: int, window: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or window <= 0:
            raise ValueError(f"rate limit {limit} per {window} s not understood: use at least "
                             "1 report per a positive number of seconds")
        self.limit, self.window = limit, window
        self._clock = clock
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Count one report from ``client``, or raise TooManyReports."""
        now = self._clock()
        with self._lock:
            times = self._seen.pop(client, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.limit:
                self._seen[client] = times
                raise TooManyReports(int(times[0] + self.window - now) + 1)
            times.append(now)
            self._seen[client] = times
            while len(self._seen) > MAX_CLIENTS:
                self._seen.popitem(last=False)
