"""The QuickJS sandbox for vendor codecs: limits, garbage, no outside access, the cache."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from placehub.ingest.codecs import DecodeError, JavaScriptCodec
from placehub.ingest.codecs.javascript import compiled_count

from .device_repository import SCRIPTS, script_source

ECHO = """
function decodeUplink(input) {
  return {data: {bytes: input.bytes, fPort: input.fPort,
                 time: input.recvTime ? input.recvTime.toISOString() : null}};
}
"""


def codec(source: str, name: str = "test.js") -> JavaScriptCodec:
    return JavaScriptCodec(name, source)


def test_a_codec_gets_the_bytes_fport_and_time() -> None:
    """decodeUplink receives bytes as numbers, the fPort and recvTime as a Date."""
    from datetime import UTC, datetime

    data = codec(ECHO).run(7, b"\x00\xff\x10", datetime(2026, 11, 20, 8, 1, tzinfo=UTC))
    assert data == {"bytes": [0, 255, 16], "fPort": 7, "time": "2026-11-20T08:01:00.000Z"}


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("function decodeUplink(i) { throw new RangeError('no ' + i.fPort); }", "threw RangeError: no 3"),
        ("function decodeUplink(i) { while (true) {} }", "time limit (100 ms)"),
        (
            "function decodeUplink(i) { var a = []; while (true) { a.push(new Array(1e5).fill(1)); } }",
            "memory than its limit (32 MB)",
        ),
        ("function decodeUplink(i) { var s = 'x'; while (true) { s = s + s; } }", "memory"),
        ("function decodeUplink(i) { return decodeUplink(i); }", "stack limit"),
        ("function decodeUplink(i) { return 42; }", "returned 42 instead of {data}"),
        ("function decodeUplink(i) { }", "returned null"),
        ("function decodeUplink(i) { return {data: [1, 2]}; }", "no data object"),
        ("function decodeUplink(i) { return {errors: ['unknown FPort']}; }", "says: unknown FPort"),
        ("function decodeUplink(i) { var o = {}; o.o = o; return {data: o}; }", "circular"),
        ("function decodeUplink(i) { return {data: {s: 'x'.repeat(2e5)}}; }", "characters"),
        ("var x = 1;", "no decodeUplink"),
    ],
)
def test_misbehaving_codecs_are_decode_errors_with_the_reason(source: str, reason: str) -> None:
    """Throwing, looping, allocating, recursing or returning garbage is a DecodeError saying so,
    within a bounded time."""
    started = time.monotonic()
    with pytest.raises(DecodeError, match="test.js: .*") as raised:
        codec(source).run(3, b"\x01\x02")
    assert reason in str(raised.value)
    assert time.monotonic() - started < 5


def test_a_script_that_does_not_load_says_why() -> None:
    """A syntax error, or top-level code that never ends, fails when the script is loaded."""
    with pytest.raises(DecodeError, match="cannot load the codec script: SyntaxError"):
        codec("function decodeUplink(i) { return {data: }").check()
    with pytest.raises(DecodeError, match="cannot load the codec script: .*time limit"):
        codec("while (true) {}").check()


def test_after_hitting_a_limit_the_codec_works_again() -> None:
    """A codec that loops on one input still decodes the next one (a fresh runtime)."""
    script = codec(
        "function decodeUplink(i) { if (i.bytes[0] === 255) { while (true) {} }"
        " return {data: {v: i.bytes[0]}}; }"
    )
    with pytest.raises(DecodeError, match="time limit"):
        script.run(1, b"\xff")
    assert script.run(1, b"\x05") == {"v": 5}


@pytest.mark.parametrize(
    "probe",
    [
        "typeof require",
        "typeof std",
        "typeof os",
        "typeof fetch",
        "typeof XMLHttpRequest",
        "typeof process",
        "typeof WebAssembly",
        "typeof setTimeout",
    ],
)
def test_a_codec_reaches_no_file_network_or_process(probe: str) -> None:
    """No module loader, no std/os modules, no network or process objects exist in the sandbox."""
    data = codec(f"function decodeUplink(i) {{ return {{data: {{t: {probe}}}}}; }}").run(1, b"")
    assert data == {"t": "undefined"}


def test_importing_a_module_fails() -> None:
    """Loading QuickJS's os module (files, processes) is refused."""
    script = codec(
        "var result = 'not run'; import('qjs:os').then(function () { result = 'loaded'; },"
        " function (e) { result = String(e); });"
        "function decodeUplink(i) { return {data: {r: result}}; }"
    )
    assert script.run(1, b"")["r"] != "loaded"


def test_compiled_codecs_are_cached_per_thread() -> None:
    """The same script is compiled once per thread, however many uplinks it decodes."""
    source = ECHO + "\n// cache test " + str(time.time_ns())
    before = compiled_count()
    for n in range(50):
        JavaScriptCodec("a.js", source).run(1, bytes([n]))
    assert compiled_count() == before + 1
    other: list[int] = []

    def in_thread() -> None:
        JavaScriptCodec("a.js", source).run(1, b"\x01")
        JavaScriptCodec("a.js", source).run(1, b"\x02")
        other.append(compiled_count())

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert other == [1]


FIXTURE_CODECS = [
    "decentlab/dl-pm",
    "decentlab/dl-smtp",
    "dragino/ldds75-114",
    "dragino/lse01",
    "dragino/lht65",
    "dragino/laq4",
    "elsys/ers",
    "netvox/ra0715",
    "nwave/nps405",
    "bosch/tps110-0292",
    "ellenex/pls2-l",
]
MISBEHAVING = (SCRIPTS / "acme" / "level.js").read_text()


@pytest.mark.parametrize("path", [*FIXTURE_CODECS, "acme/level"])
@settings(max_examples=40, deadline=None)
@given(payload=st.binary(max_size=40), fport=st.integers(min_value=0, max_value=255))
def test_random_bytes_through_a_sandboxed_codec_never_crash(
    path: str, payload: bytes, fport: int
) -> None:
    """Random bytes on any fPort give a data object or a DecodeError, never another exception."""
    source = MISBEHAVING if path == "acme/level" else script_source(path)
    try:
        data = JavaScriptCodec(path, source).run(fport, payload)
    except DecodeError as error:
        assert str(error).startswith(path)
        return
    assert isinstance(data, dict)
