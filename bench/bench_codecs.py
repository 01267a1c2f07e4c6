"""Benchmark: decodes per second of sandboxed JavaScript codecs against the native Python codecs.

The 161 vendor examples of shared/data/lorawan/uplink_examples.json are decoded through both
profiles of each model: the built-in native profile and the profile imported from a device
repository built with the tests' JavaScript codecs (run in the QuickJS sandbox, output mapped
by the field map). Rounds alternate between the two so both see the same machine load; the
figures are the medians of the rounds and their ratio. Also printed: the sandbox call alone
(no field map) and compiling a codec (what the per-thread cache saves).

    PYTHONPATH=src python bench/bench_codecs.py [--rounds 9] [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from placehub.ingest.codecs import DecodeError, JavaScriptCodec
from placehub.ingest.profiles import DeviceProfile, decode_for_profile, load_profiles
from placehub.ingest.repository import import_repository

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "ingest"))
from device_repository import build_from_examples, profile_of  # noqa: E402


def decode_all(cases: list[tuple[DeviceProfile, int, bytes]]) -> int:
    for profile, fport, payload in cases:
        with contextlib.suppress(DecodeError):
            decode_for_profile(profile, fport, payload)
    return len(cases)


def run_scripts(cases: list[tuple[DeviceProfile, int, bytes]]) -> int:
    for profile, fport, payload in cases:
        assert profile.script is not None
        with contextlib.suppress(DecodeError):
            profile.script.run(fport, payload)
    return len(cases)


def rate(action: Any, cases: list[tuple[DeviceProfile, int, bytes]], repeat: int) -> float:
    started = time.perf_counter()
    count = sum(action(cases) for _ in range(repeat))
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--repeat", type=int, default=20, help="passes over the examples a round")
    parser.add_argument("--data-dir", default=os.environ.get("PLACEHUB_DATA_DIR", "../shared/data"))
    args = parser.parse_args()
    examples = json.loads(
        (Path(args.data_dir) / "lorawan" / "uplink_examples.json").read_text()
    )["examples"]
    work = Path(tempfile.mkdtemp(prefix="bench-codecs-"))
    build_from_examples(work / "repo", examples)
    import_repository(work / "repo", work / "profiles", include_native=True)
    native_profiles = load_profiles()
    script_profiles = load_profiles(work / "profiles")
    native, scripted = [], []
    for e in examples:
        payload = bytes.fromhex(e["bytes_hex"])
        pid = profile_of(e["codec"])
        native.append((native_profiles[pid], e["fPort"], payload))
        scripted.append((script_profiles[pid], e["fPort"], payload))
    decode_all(scripted)  # compile every codec once (the per-thread cache)

    native_rates, script_rates, call_rates = [], [], []
    for _ in range(args.rounds):
        native_rates.append(rate(decode_all, native, args.repeat))
        script_rates.append(rate(decode_all, scripted, args.repeat))
        call_rates.append(rate(run_scripts, scripted, args.repeat))

    source = next(p.script.source for p, _, _ in scripted if p.script is not None)
    compile_times = []
    for n in range(50):
        codec = JavaScriptCodec("bench.js", source + f"\n// {n} {time.time_ns()}")
        started = time.perf_counter()
        codec.check()
        compile_times.append(time.perf_counter() - started)

    native_median = statistics.median(native_rates)
    script_median = statistics.median(script_rates)
    print(f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    print(f"{len(examples)} vendor examples, {args.rounds} rounds of {args.repeat} passes")
    print(f"native Python codecs (profile decode)   {native_median:10,.0f} decodes/s")
    print(f"sandboxed JavaScript (profile decode)   {script_median:10,.0f} decodes/s")
    print(f"  of which the sandbox call alone       {statistics.median(call_rates):10,.0f} calls/s")
    print(f"ratio native / sandboxed                {native_median / script_median:10.1f}")
    print(f"spread (min-max) native {min(native_rates):,.0f}-{max(native_rates):,.0f}, "
          f"sandboxed {min(script_rates):,.0f}-{max(script_rates):,.0f}")  # fmt: skip
    compile_ms = statistics.median(compile_times) * 1e3
    print(f"compiling one codec (cache miss)        {compile_ms:10.2f} ms")


if __name__ == "__main__":
    main()
