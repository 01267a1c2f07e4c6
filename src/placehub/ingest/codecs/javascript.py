"""Vendor JavaScript payload codecs (``decodeUplink(input)``) run in a QuickJS sandbox.

The Things Stack, ChirpStack and the device repository describe a codec as a script defining
``decodeUplink({bytes, fPort, recvTime})`` that returns ``{data}`` or ``{errors}``. placehub runs
such scripts in-process with QuickJS (the ``quickjs-ng`` binding): a bare engine with no module
loader and no ``std``/``os`` modules, so a script can reach no file, network, process or clock
beyond what it is given. Every call has a time limit, a memory limit and a stack limit; a script
that throws, loops, allocates without bound or returns something that is not a decoding becomes
a DecodeError with the reason (the uplink is a dead letter), never a crash.

Compiled scripts are cached per thread (a QuickJS runtime must stay on the thread that made it),
keyed by the script's SHA-256, so a profile's codec is compiled once per worker thread.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import quickjs

from placehub.ingest.codecs.base import DecodeError

# Per call. QuickJS checks the time limit from its interrupt handler, so a looping script is
# stopped within a few multiples of this; the memory limit covers the script's whole runtime.
TIME_LIMIT_SECONDS = 0.1
MEMORY_LIMIT_BYTES = 32 * 1024 * 1024
STACK_LIMIT_BYTES = 512 * 1024
# A decoding is a small object; anything larger is garbage, not a reading.
OUTPUT_LIMIT_CHARS = 100_000
# Compiled runtimes kept per thread (each costs a few hundred kB).
CACHE_SIZE = 128

# Runs first in every runtime: keeps its own references to JSON so that a script redefining
# them cannot change how its result is handed back.
_HARNESS = r"""
var __placehub = (function (parse, stringify) {
  return function (fPort, bytesJson, recvTime) {
    var input = {bytes: parse(bytesJson), fPort: fPort};
    if (recvTime) { input.recvTime = new Date(recvTime); }
    var result;
    if (typeof decodeUplink === 'function') {
      result = decodeUplink(input);
    } else if (typeof Decoder === 'function') {
      result = {data: Decoder(input.bytes, fPort)};
    } else {
      throw new Error('the script defines no decodeUplink(input) function');
    }
    return stringify(result === undefined ? null : result);
  };
})(JSON.parse, JSON.stringify);
"""


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _limit_reason(error: BaseException) -> str | None:
    """The plain reason when QuickJS stopped a script at one of its limits."""
    if isinstance(error, quickjs.StackOverflow):
        return "the codec recursed too deeply (stack limit)"
    text = str(error)
    if "interrupted" in text:
        return f"the codec ran longer than its time limit ({TIME_LIMIT_SECONDS * 1000:g} ms)"
    if "out of memory" in text or "string too long" in text or "array too long" in text:
        return (
            f"the codec used more memory than its limit ({MEMORY_LIMIT_BYTES // (1024 * 1024)} MB)"
        )
    return None


class _Runtime:
    """One compiled script in its own QuickJS runtime (one thread only)."""

    def __init__(self, name: str, source: str) -> None:
        self.context = quickjs.Context()
        self.context.set_memory_limit(MEMORY_LIMIT_BYTES)
        self.context.set_time_limit(TIME_LIMIT_SECONDS)
        self.context.set_max_stack_size(STACK_LIMIT_BYTES)
        self.context.eval(_HARNESS)
        try:
            self.context.eval(source)
        except (quickjs.JSException, quickjs.StackOverflow) as error:
            reason = _limit_reason(error) or _first_line(error)
            raise DecodeError(f"{name}: cannot load the codec script: {reason}") from None
        self.entry = self.context.get("__placehub")


class _Cache(threading.local):
    def __init__(self) -> None:
        self.runtimes: OrderedDict[str, _Runtime] = OrderedDict()
        self.compiled = 0  # how many scripts this thread compiled (tests check the cache)


_CACHE = _Cache()


def compiled_count() -> int:
    """How many scripts the calling thread has compiled so far."""
    return _CACHE.compiled


@dataclass(frozen=True)
class JavaScriptCodec:
    """A vendor ``decodeUplink`` script; :meth:`run` returns the vendor's ``data`` object."""

    name: str
    source: str
    description: str = ""
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "digest", hashlib.sha256(self.source.encode()).hexdigest())

    def _runtime(self) -> _Runtime:
        runtimes = _CACHE.runtimes
        runtime = runtimes.get(self.digest)
        if runtime is None:
            runtime = _Runtime(self.name, self.source)
            _CACHE.compiled += 1
            runtimes[self.digest] = runtime
            if len(runtimes) > CACHE_SIZE:
                runtimes.popitem(last=False)
        else:
            runtimes.move_to_end(self.digest)
        return runtime

    def _forget(self) -> None:
        # After a limit was hit the runtime's state is suspect: compile afresh next time.
        _CACHE.runtimes.pop(self.digest, None)

    def check(self) -> None:
        """Compile the script now; DecodeError says why it cannot be loaded."""
        self._runtime()

    def run(
        self, fport: int, payload: bytes, received_at: datetime | None = None
    ) -> dict[str, Any]:
        """The script's ``data`` for one uplink; every failure is a DecodeError with the reason."""
        runtime = self._runtime()
        try:
            text = runtime.entry(
                fport, json.dumps(list(payload)), received_at.isoformat() if received_at else ""
            )
        except (quickjs.JSException, quickjs.StackOverflow) as error:
            reason = _limit_reason(error)
            if reason is not None:
                self._forget()
                raise DecodeError(f"{self.name}: {reason}") from None
            raise DecodeError(f"{self.name}: the codec threw {_first_line(error)}") from None
        return self._result(text, payload, fport)

    def _result(self, text: Any, payload: bytes, fport: int) -> dict[str, Any]:
        where = f"{self.name}: fPort {fport}, {payload.hex() or 'no bytes'}"
        if not isinstance(text, str):
            raise DecodeError(f"{where}: the codec returned nothing JSON can hold")
        if len(text) > OUTPUT_LIMIT_CHARS:
            raise DecodeError(
                f"{where}: the codec returned {len(text)} characters (at most "
                f"{OUTPUT_LIMIT_CHARS} make sense for one uplink)"
            )
        result = json.loads(text)
        if not isinstance(result, dict):
            raise DecodeError(
                f"{where}: the codec returned {text[:80]} instead of {{data}} or {{errors}}"
            )
        errors = result.get("errors")
        if errors:
            listed = errors if isinstance(errors, list) else [errors]
            raise DecodeError(f"{where}: the codec says: " + "; ".join(str(e) for e in listed))
        data = result.get("data")
        if not isinstance(data, dict):
            raise DecodeError(f"{where}: the codec returned no data object ({text[:80]})")
        return data
