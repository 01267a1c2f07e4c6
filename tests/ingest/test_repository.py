"""Importing the device repository: profiles per model, examples as written, native equivalence."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from placehub.cli import app
from placehub.ingest.codecs import Decoded, DecodeError
from placehub.ingest.profiles import decode_for_profile, load_profile_file, load_profiles
from placehub.ingest.repository import (
    RepositoryError,
    candidates,
    differences,
    import_repository,
    read_yaml,
)

from .device_repository import build_from_examples, build_small, profile_of
from .test_codecs import load_examples

# Vendor examples whose expected output is wrong (see tests/ingest/test_codecs.py): the fixture
# codecs decode the documented 4-byte frame, the vendor's decoder prints "No Sensor".
KNOWN_WRONG = {("dragino/ldds75", "0e1c0b05"), ("dragino/ldds20", "0e1c0b05")}


@pytest.fixture(scope="module")
def examples(data_dir: Path) -> list[dict[str, Any]]:
    return load_examples(data_dir)


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory, examples: list[dict[str, Any]]) -> Path:
    """The 161 vendor examples as a repository with the test's codecs, imported once."""
    root = tmp_path_factory.mktemp("examples")
    build_from_examples(root / "repo", examples)
    report = import_repository(root / "repo", root / "profiles", include_native=True)
    assert report.count("skipped") == 0, [m.reason for m in report.models if m.reason]
    return root / "profiles"


def test_yaml_is_read_with_yaml_1_2_rules(tmp_path: Path) -> None:
    """Unquoted NO, off and yes stay strings (YAML 1.1 would make them booleans)."""
    path = tmp_path / "x.yaml"
    path.write_text("a: NO\nb: off\nc: yes\nd: true\ne: 0x10\n")
    assert read_yaml(path) == {"a": "NO", "b": "off", "c": "yes", "d": True, "e": 16}


def test_small_repository_imports_the_models_whose_codec_runs(tmp_path: Path) -> None:
    """The level sensor is imported with its examples decoding as written; codecs that throw,
    never return, allocate without bound, have no examples or no known field are skipped with
    the reason."""
    report = import_repository(build_small(tmp_path / "repo"), tmp_path / "profiles")
    rows = {m.profile: m for m in report.models}
    level = rows["acme/level-sensor"]
    assert (level.status, level.examples, level.examples_as_written) == ("imported", 3, 3)
    assert level.mapped == {
        "distance": "distance",
        "battery_voltage": "battery_voltage",
        "temperature": "temperature",
    }
    assert level.unmapped == ["lid_open", "status"]
    assert rows["acme/thrower"].status == "skipped"
    assert "threw ReferenceError: undefinedVariable" in rows["acme/thrower"].reason
    assert "time limit" in rows["acme/sleeper"].reason
    assert "memory" in rows["acme/hog"].reason
    assert "none of the codec's fields is a known quantity (zork" in rows["acme/mystery"].reason
    assert "no examples" in rows["acme/silent"].reason
    assert report.count("imported") == 1 and report.count("skipped") == 5
    profile = load_profile_file(tmp_path / "profiles" / "acme" / "level-sensor.toml")
    assert profile.id == "acme/level-sensor" and profile.codec == "javascript"
    assert [d.key for d in profile.datastreams] == ["distance", "battery_voltage", "temperature"]
    assert profile.source["examples_as_written"] == 3
    decoded = decode_for_profile(profile, 1, bytes.fromhex("023f0e101504"))
    values = {m.key: m.value for m in decoded.measurements}
    assert values == {"distance": 575.0, "battery_voltage": 3.6, "temperature": 21.0}
    assert decoded.attributes == {"lid_open": "NO", "status": 2}


def test_reimporting_updates_changed_codecs_and_keeps_the_rest(tmp_path: Path) -> None:
    """A second import changes nothing; a changed script is updated; --vendor limits the
    import; an unknown vendor or a folder that is no repository is a plain error."""
    root = build_small(tmp_path / "repo")
    into = tmp_path / "profiles"
    import_repository(root, into)
    again = import_repository(root, into, vendors=["acme"])
    assert {m.profile: m.status for m in again.models}["acme/level-sensor"] == "unchanged"
    script = root / "vendor" / "acme" / "level.js"
    script.write_text(script.read_text().replace("status: b[5] >> 1", "status: b[5] >> 2"))
    updated = import_repository(root, into, vendors=["acme"])
    row = {m.profile: m for m in updated.models}["acme/level-sensor"]
    assert row.status == "updated" and row.examples_as_written == 2
    assert any("status: example 2, codec 1" in d for d in row.differences)
    assert "b[5] >> 2" in (into / "acme" / "level-sensor.js").read_text()
    assert import_repository(root, into, vendors=["other"]).models == []
    with pytest.raises(RepositoryError, match="vendor nope is not in"):
        import_repository(root, into, vendors=["nope"])
    with pytest.raises(RepositoryError, match="no vendor/index.yaml"):
        import_repository(tmp_path, into)


def test_models_placehub_decodes_natively_are_skipped_unless_asked(
    tmp_path: Path, examples: list[dict[str, Any]]
) -> None:
    """Without --include-native a model with a built-in profile is skipped with the reason."""
    build_from_examples(tmp_path / "repo", [e for e in examples if e["codec"] == "decentlab/dl-pm"])
    report = import_repository(tmp_path / "repo", tmp_path / "profiles")
    assert [(m.profile, m.status) for m in report.models] == [("decentlab/dl-pm", "skipped")]
    assert "decodes this model natively" in report.models[0].reason


def test_a_model_with_two_firmware_codecs_gets_two_profiles(
    tmp_path: Path, examples: list[dict[str, Any]]
) -> None:
    """The newest firmware's codec is vendor/model; the older one vendor/model@codec."""
    chosen = [e for e in examples if e["codec"] in ("dragino/ldds75", "dragino/ldds75-114")]
    build_from_examples(tmp_path / "repo", chosen)
    found = {c.profile: c.codec_id for c in candidates(tmp_path / "repo")}
    assert found == {"dragino/ldds75": "ldds75-114-codec", "dragino/ldds75@ldds75": "ldds75-codec"}


def test_every_vendor_example_decodes_as_written(
    imported: Path, examples: list[dict[str, Any]]
) -> None:
    """The test's JavaScript codecs give the vendor's expected output for every example (but
    the two the vendor gets wrong), checked by the importer's own comparison."""
    profiles = load_profiles(imported)
    as_written = 0
    for example in examples:
        profile = profiles[profile_of(example["codec"])]
        assert profile.script is not None
        payload = bytes.fromhex(example["bytes_hex"])
        try:
            data: Any = profile.script.run(example["fPort"], payload)
        except DecodeError:
            data = None
        expected = example["expected"]
        wrong = (example["codec"], example["bytes_hex"]) in KNOWN_WRONG
        if wrong and "data" in expected:
            assert data is not None and differences(expected["data"], data)
            continue
        if "errors" in expected:
            assert data is None, example
        else:
            assert differences(expected["data"], data) == [], example
        as_written += 1
    assert as_written == 161 - 2


def _canonical(decoded: Decoded) -> dict[str, float | bool]:
    return {m.key: m.value for m in decoded.measurements}


def test_imported_javascript_and_native_profiles_give_the_same_measurements(
    imported: Path, examples: list[dict[str, Any]]
) -> None:
    """For every model in uplink_examples.json, the imported JavaScript profile and the
    built-in native profile of the same name give the same canonical values, or both refuse."""
    native = load_profiles()
    scripted = load_profiles(imported)
    compared = 0
    for example in examples:
        pid = profile_of(example["codec"])
        assert native[pid].codec not in ("javascript", "none"), pid
        assert scripted[pid].codec == "javascript", pid
        payload = bytes.fromhex(example["bytes_hex"])
        outcomes = []
        for profile in (native[pid], scripted[pid]):
            try:
                outcomes.append(_canonical(decode_for_profile(profile, example["fPort"], payload)))
            except DecodeError:
                outcomes.append(None)
        ours, theirs = outcomes
        label = f"{pid} fPort {example['fPort']} {example['bytes_hex']}"
        assert (ours is None) == (theirs is None), label
        if ours is not None and theirs is not None:
            assert set(ours) == set(theirs), label
            for key, value in ours.items():
                assert math.isclose(float(value), float(theirs[key]), rel_tol=1e-9, abs_tol=1e-9), (
                    f"{label} {key}: native {value}, javascript {theirs[key]}"
                )
            compared += 1
    assert compared >= 140


def test_cli_imports_lists_and_decodes(tmp_path: Path) -> None:
    """`profiles import-repository --json`, `profiles list --json` and `decode` of an imported
    profile print what a script needs; the unmapped fields come with the measurements."""
    root = build_small(tmp_path / "repo")
    into = tmp_path / "profiles"
    runner = CliRunner()
    env = {"PLACEHUB_INGEST_PROFILES_DIR": str(into)}
    result = runner.invoke(
        app, ["profiles", "import-repository", str(root), "--vendor", "acme", "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["imported"] == 1 and report["skipped"] == 5
    listed = runner.invoke(app, ["profiles", "list", "--vendor", "acme", "--json"], env=env)
    assert [p["id"] for p in json.loads(listed.stdout)] == ["acme/level-sensor"]
    decoded = runner.invoke(
        app, ["decode", "--profile", "acme/level-sensor", "--fport", "1", "03e80dacfb01"], env=env
    )
    assert decoded.exit_code == 0, decoded.output
    out = json.loads(decoded.stdout)
    assert {m["quantity"]: m["value"] for m in out["measurements"]} == {
        "distance": 1000.0,
        "battery_voltage": 3.5,
        "temperature": -5.0,
    }
    assert out["unmapped"] == {"lid_open": "YES", "status": 0}
    broken = runner.invoke(
        app, ["decode", "--profile", "acme/level-sensor", "--fport", "1", "ef00"], env=env
    )
    assert broken.exit_code == 1 and "time limit" in broken.output
    table = runner.invoke(app, ["profiles", "import-repository", str(root)], env=env)
    assert table.exit_code == 0
    assert "acme/level-sensor" in table.stdout and "unchanged" in table.stdout
    assert "acme/mystery" in table.stdout and "none of the codec's fields" in table.stdout
    bad = runner.invoke(app, ["profiles", "import-repository", str(tmp_path)], env=env)
    assert bad.exit_code == 1 and "no vendor/index.yaml" in bad.output
