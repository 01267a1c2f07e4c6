"""Downloads from the official sources: resumable, checksummed, cached, with plain errors.

A file is streamed into ``<cache>/<name>.part``; when the connection drops, the next run asks
for the rest with an HTTP ``Range`` request (``If-Range`` on the ETag or Last-Modified date, so
a file that changed at the source starts again instead of being spliced). A finished file is
kept in the cache with its SHA-256 and reused until ``refresh``.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from placehub.errors import PlacehubError

# (what, bytes or items done, total or None when unknown): the CLI draws Rich progress bars.
Progress = Callable[[str, int, int | None], None]
CHUNK = 1 << 20
USER_AGENT = "placehub-area-fetch/1 (+https://github.com/placehub)"
# Longer query strings go as a POST form (ArcGIS accepts both; some proxies cut long URLs).
LONGEST_GET = 1800
ATTEMPTS = 3


def no_progress(_what: str, _done: int, _total: int | None) -> None:
    pass


class SourceUnavailable(PlacehubError):
    """A source could not be reached, or did not answer with the data it documents."""

    status_code = 502

    def __init__(self, source: str, url: str, reason: str, cause: str | None = None) -> None:
        super().__init__(f"{source} ({url}): {reason}")
        self.source = source
        self.url = url
        self.reason = reason
        self.cause = cause or reason  # the short why, e.g. "Name or service not known"


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def md5_of(path: Path) -> str:
    """The MD5 of a file (Geofabrik publishes one beside each extract)."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Downloaded:
    """A file in the cache: where it came from, its size and checksum, how it was obtained."""

    url: str
    path: Path
    bytes: int
    sha256: str
    resumed_from: int = 0  # bytes already on disk when this download started
    cached: bool = False  # reused from the cache without asking the source

    def record(self) -> dict[str, Any]:
        """What the area manifest keeps about it."""
        return {"url": self.url, "bytes": self.bytes, "sha256": self.sha256}


def _unreachable(source: str, url: str, error: httpx.HTTPError) -> SourceUnavailable:
    cause = str(error) or error.__class__.__name__
    return SourceUnavailable(source, url, f"unreachable ({cause}); check the network or point "
                                          "the source's PLACEHUB_AREA_*_URL setting at a mirror",
                             cause)


def _refused(source: str, url: str, response: httpx.Response) -> SourceUnavailable:
    hint = ("the data may have moved: check the source's documented URL (docs/area.md)"
            if response.status_code in {404, 410} else "try again later")
    return SourceUnavailable(source, url, f"answered HTTP {response.status_code} "
                                          f"{response.reason_phrase}; {hint}")


class Downloader:
    """Fetches files and JSON for the area sources through one HTTP client."""

    def __init__(self, cache_dir: str | Path, *, progress: Progress = no_progress,
                 refresh: bool = False, client: httpx.Client | None = None,
                 timeout: float = 60.0) -> None:
        self.cache_dir = Path(cache_dir)
        self.progress = progress
        self.refresh = refresh
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=15.0), follow_redirects=True,
            headers={"User-Agent": USER_AGENT})

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Downloader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- files -------------------------------------------------------------------------------

    def file(self, source: str, url: str, name: str, *, refresh: bool = False) -> Downloaded:
        """The file at ``url`` in the cache as ``name``: reused, resumed or downloaded whole.

        ``refresh`` (or the downloader's own) ignores a cached or partial copy.
        """
        refresh = refresh or self.refresh
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        target = self.cache_dir / name
        meta_path = self.cache_dir / f"{name}.json"
        meta = _read_json(meta_path)
        if (not refresh and target.exists() and meta.get("url") == url
                and meta.get("bytes") == target.stat().st_size and meta.get("sha256")):
            self.progress(f"{source}: {name} (cached)", int(meta["bytes"]), int(meta["bytes"]))
            return Downloaded(url, target, int(meta["bytes"]), str(meta["sha256"]), cached=True)
        part = self.cache_dir / f"{name}.part"
        part_meta_path = self.cache_dir / f"{name}.part.json"
        part_meta = _read_json(part_meta_path)
        if refresh or part_meta.get("url") != url:
            part.unlink(missing_ok=True)
            part_meta = {}
        start = part.stat().st_size if part.exists() else 0
        resumed_from = self._stream(source, url, name, part, part_meta_path, part_meta, start)
        digest = sha256_of(part)
        size = part.stat().st_size
        part.replace(target)
        part_meta_path.unlink(missing_ok=True)
        meta_path.write_text(json.dumps({"url": url, "bytes": size, "sha256": digest}),
                             encoding="utf-8")
        return Downloaded(url, target, size, digest, resumed_from=resumed_from)

    def _stream(self, source: str, url: str, name: str, part: Path, part_meta_path: Path,
                part_meta: dict[str, Any], start: int) -> int:
        """Write the body of ``url`` into ``part`` from byte ``start``; the bytes kept."""
        # The file as stored (no transfer compression), so byte ranges and lengths are its own.
        headers = {"Accept-Encoding": "identity"}
        validator = part_meta.get("etag") or part_meta.get("last_modified")
        if start:
            headers["Range"] = f"bytes={start}-"
            if validator:
                headers["If-Range"] = str(validator)
        try:
            with self.client.stream("GET", url, headers=headers) as response:
                if response.status_code == 416 and start:
                    # Nothing after byte ``start``: the part is already the whole file.
                    total = _total_from_content_range(response.headers.get("Content-Range"))
                    if total == start:
                        return start
                    part.unlink(missing_ok=True)
                    return self._stream(source, url, name, part, part_meta_path, {}, 0)
                if response.status_code == 206 and start:
                    first = _first_from_content_range(response.headers.get("Content-Range"))
                    if first != start:
                        raise SourceUnavailable(source, url, f"sent bytes from {first} when "
                                                             f"asked for {start}")
                    mode, kept = "ab", start
                elif response.status_code == 200:
                    mode, kept = "wb", 0  # no range support, or the file changed: start again
                else:
                    raise _refused(source, url, response)
                length = response.headers.get("Content-Length")
                total = kept + int(length) if length and length.isdigit() else None
                part_meta_path.write_text(json.dumps({
                    "url": url, "etag": response.headers.get("ETag"),
                    "last_modified": response.headers.get("Last-Modified"),
                    "total": total}), encoding="utf-8")
                done = kept
                what = f"{source}: {name}" + (" (resumed)" if kept else "")
                self.progress(what, done, total)
                with part.open(mode) as handle:
                    # As the bytes arrive (not in fixed chunks), so a dropped connection keeps
                    # everything received for the next run to resume from.
                    for block in response.iter_bytes():
                        handle.write(block)
                        done += len(block)
                        self.progress(what, done, total)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.UnsupportedProtocol) as error:
            raise _unreachable(source, url, error) from None
        except httpx.HTTPError as error:
            raise SourceUnavailable(
                source, url, f"download interrupted after {_size(part)} bytes ({error}); run "
                             "the command again to resume it") from None
        if total is not None and done != total:
            raise SourceUnavailable(source, url, f"download cut short at {done} of {total} "
                                                 "bytes; run the command again to resume it")
        return kept

    # -- JSON ----------------------------------------------------------------------------------

    def json(self, source: str, url: str, params: dict[str, Any] | None = None) -> Any:
        """The JSON answer of ``url`` with ``params`` (GET, or a POST form when they are long)."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        long_query = len(urlencode(params)) > LONGEST_GET
        for attempt in range(1, ATTEMPTS + 1):
            try:
                if long_query:
                    response = self.client.post(url, data=params)
                else:
                    response = self.client.get(url, params=params)
            except (httpx.TimeoutException, httpx.RemoteProtocolError) as error:
                if attempt == ATTEMPTS:
                    raise _unreachable(source, url, error) from None
                time.sleep(attempt)
                continue
            except httpx.HTTPError as error:
                raise _unreachable(source, url, error) from None
            if response.status_code >= 500 and attempt < ATTEMPTS:
                time.sleep(attempt)
                continue
            if response.status_code != 200:
                raise _refused(source, url, response)
            try:
                return response.json()
            except ValueError:
                raise SourceUnavailable(source, url, "did not answer JSON") from None
        raise AssertionError("unreachable")  # the loop returns or raises

    def text(self, source: str, url: str) -> str:
        """A small text file (e.g. Geofabrik's .md5), not cached."""
        try:
            response = self.client.get(url)
        except httpx.HTTPError as error:
            raise _unreachable(source, url, error) from None
        if response.status_code != 200:
            raise _refused(source, url, response)
        return response.text


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (FileNotFoundError, json.JSONDecodeError, TypeError, ValueError):
        return {}


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _first_from_content_range(header: str | None) -> int | None:
    """The first byte of ``bytes 100-199/200``."""
    try:
        return int((header or "").split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _total_from_content_range(header: str | None) -> int | None:
    """The full length of ``bytes */200`` or ``bytes 100-199/200``."""
    try:
        return int((header or "").rsplit("/", 1)[1])
    except (IndexError, ValueError):
        return None
