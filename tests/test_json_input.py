"""JSON bodies: what storage cannot hold is refused with a 400 that says what to send."""

import json

import pytest

from placehub.errors import BadRequest
from placehub.json_input import MAX_DEPTH, check_text, is_json_content, parse_json


@pytest.mark.parametrize(("raw", "message"), [
    ("[" * 10_000 + "]" * 10_000, "nested too deeply"),
    ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), f"more than {MAX_DEPTH} levels"),
    ('{"v": NaN}', "contains NaN"),
    ('{"v": -Infinity}', "contains -Infinity"),
    ('{"v": 1e999}', "1e999, too large"),
    ('{"id": ' + "9" * 309 + "}", "beyond the 64-bit range"),
    ('{"id": ' + "9" * 5000 + "}", "beyond the 64-bit range"),
    ('{"name": "a\\u0000b"}', "NUL character"),
    ('{"a\\u0000": 1}', "NUL character"),
    ('{"name": "a\\ud800b"}', "lone UTF-16 surrogate"),
    ('["\\udc00"]', "lone UTF-16 surrogate"),
    (b'{"name": "\xff"}', "not UTF-8"),
    ('{"name": ', "not valid JSON"),
])
def test_refused_bodies(raw: str | bytes, message: str) -> None:
    """Each unstorable body is a BadRequest naming the problem."""
    with pytest.raises(BadRequest, match=message):
        parse_json(raw.encode() if isinstance(raw, str) else raw)


def test_accepted_bodies_are_unchanged() -> None:
    """Valid JSON, surrogate pairs (an emoji), 64-bit ids and MAX_DEPTH levels parse as usual."""
    body = {"name": "Bin \U0001f5d1", "id": 2**63 - 1, "v": -1.5e300, "nested": [[[1]]]}
    assert parse_json(json.dumps(body).encode()) == body
    assert parse_json(json.dumps(body, ensure_ascii=False)) == body
    deep = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert parse_json(deep) is not None


def test_check_text_and_media_types() -> None:
    """Text checks pass valid Unicode; JSON media types include +json and parameters."""
    assert check_text("Uppingham \u00e9") == "Uppingham \u00e9"
    with pytest.raises(BadRequest):
        check_text("a\ud800")
    assert is_json_content("application/json; charset=utf-8")
    assert is_json_content("application/merge-patch+json")
    assert not is_json_content("text/plain")
    assert not is_json_content("")


def test_lenient_parsing_leaves_values_to_the_caller() -> None:
    """Not strict, huge numbers and NUL text pass through (refused per item later); nesting
    and NaN are still refused."""
    assert parse_json('[1e999, ' + "9" * 30 + ', "a\\u0000"]', strict=False) == [
        float("inf"), int("9" * 30), "a\x00"]
    with pytest.raises(BadRequest, match="NaN"):
        parse_json("[NaN]", strict=False)
    with pytest.raises(BadRequest, match="nested"):
        parse_json("[" * 5000 + "]" * 5000, strict=False)
