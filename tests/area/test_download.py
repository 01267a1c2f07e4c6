"""Downloads: resumed with HTTP Range after a dropped connection, checksummed, cached, and
plain errors naming the source when it cannot be reached or does not have the file."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path

import pytest

from placehub.area.download import Downloader, SourceUnavailable
from tests.area.official import OfficialSources

EXTRACT = "/europe/united-kingdom/england/rutland-latest.osm.pbf"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_dropped_download_resumes_where_it_stopped(tmp_path: Path, official: OfficialSources,
                                                     official_url: str) -> None:
    """The second run asks only for the missing bytes (Range) and ends with the whole file."""
    whole = official.body(EXTRACT)
    assert whole is not None
    official.cut_after[EXTRACT] = 600_000
    seen = len(official.requests)
    with Downloader(tmp_path) as downloader:
        with pytest.raises(SourceUnavailable, match="run the command again to resume") as cut:
            downloader.file("Geofabrik", official_url + EXTRACT, "rutland.osm.pbf")
        assert cut.value.source == "Geofabrik"
        assert (tmp_path / "rutland.osm.pbf.part").stat().st_size == 600_000
        done = downloader.file("Geofabrik", official_url + EXTRACT, "rutland.osm.pbf")
    assert done.resumed_from == 600_000 and not done.cached
    assert done.sha256 == _sha(whole) and done.path.read_bytes() == whole
    assert [r.range for r in official.requests[seen:]] == [None, "bytes=600000-"]
    assert not (tmp_path / "rutland.osm.pbf.part").exists()


def test_a_part_of_a_file_that_changed_is_not_spliced(tmp_path: Path, official: OfficialSources,
                                                      official_url: str) -> None:
    """A partial copy of an older file (other ETag) is replaced by the whole new one."""
    whole = official.body(EXTRACT)
    assert whole is not None
    (tmp_path / "x.pbf.part").write_bytes(b"old bytes of last week's extract")
    (tmp_path / "x.pbf.part.json").write_text(json.dumps(
        {"url": official_url + EXTRACT, "etag": '"last-week"'}))
    with Downloader(tmp_path) as downloader:
        done = downloader.file("Geofabrik", official_url + EXTRACT, "x.pbf")
    assert done.resumed_from == 0 and done.sha256 == _sha(whole)


def test_a_complete_part_is_kept(tmp_path: Path, official: OfficialSources,
                                 official_url: str) -> None:
    """A part that already holds the whole file (answer 416) becomes the file as it is."""
    whole = official.body(EXTRACT)
    assert whole is not None
    (tmp_path / "y.pbf.part").write_bytes(whole)
    (tmp_path / "y.pbf.part.json").write_text(json.dumps({"url": official_url + EXTRACT}))
    with Downloader(tmp_path) as downloader:
        done = downloader.file("Geofabrik", official_url + EXTRACT, "y.pbf")
    assert done.resumed_from == len(whole) and done.sha256 == _sha(whole)


def test_a_finished_download_is_reused_without_asking(tmp_path: Path, official: OfficialSources,
                                                      official_url: str) -> None:
    """The cache answers a second time; --refresh downloads again."""
    with Downloader(tmp_path) as downloader:
        first = downloader.file("Geofabrik", official_url + EXTRACT, "z.pbf")
    seen = len(official.requests)
    with Downloader(tmp_path) as downloader:
        again = downloader.file("Geofabrik", official_url + EXTRACT, "z.pbf")
    assert again.cached and again.sha256 == first.sha256 and len(official.requests) == seen
    with Downloader(tmp_path, refresh=True) as downloader:
        fresh = downloader.file("Geofabrik", official_url + EXTRACT, "z.pbf")
    assert not fresh.cached and len(official.requests) == seen + 1


def test_an_unreachable_source_is_named(tmp_path: Path) -> None:
    """Nothing listening: the error names the source, the URL and what to do."""
    url = f"http://127.0.0.1:{_closed_port()}/index-v1.json"
    with Downloader(tmp_path, timeout=5) as downloader, \
            pytest.raises(SourceUnavailable) as error:
        downloader.json("Geofabrik OpenStreetMap extracts", url)
    message = error.value.message
    assert message.startswith(f"Geofabrik OpenStreetMap extracts ({url}): unreachable")
    assert "PLACEHUB_AREA_" in message


def test_a_missing_file_says_it_may_have_moved(tmp_path: Path, official_url: str) -> None:
    """A 404 from the source points at the documented URLs."""
    with Downloader(tmp_path) as downloader, pytest.raises(SourceUnavailable) as error:
        downloader.file("MHCLG", official_url + "/media/gone/File_7.csv", "f7.csv")
    assert "HTTP 404" in error.value.message and "docs/area.md" in error.value.message
    assert not (tmp_path / "f7.csv").exists()
