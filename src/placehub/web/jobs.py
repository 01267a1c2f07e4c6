"""Long actions started from a page (planning a round, importing devices) run in a worker
thread; the browser is sent to a progress page at once, so nobody waits on a blank page.

Jobs live in memory: they are short, and their results are stored by the concern that made them.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from placehub.errors import NotFound, PlacehubError

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One long action: its progress (0 to 1), a message, and where its result is."""

    id: str
    title: str
    owner: str
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    state: str = "running"  # running, done, failed
    progress: float = 0.0
    message: str = "Starting"
    result_url: str | None = None
    result: Any = None
    error: str | None = None

    @property
    def percent(self) -> int:
        return round(self.progress * 100)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "state": self.state,
                "progress": self.progress, "message": self.message,
                "result_url": self.result_url, "error": self.error}


class ProgressReporter:
    """Handed to the work function: ``report(fraction, message)``."""

    def __init__(self, job: Job) -> None:
        self._job = job

    def __call__(self, fraction: float, message: str = "") -> None:
        self._job.progress = min(max(float(fraction), 0.0), 1.0)
        if message:
            self._job.message = message

    @property
    def job_id(self) -> str:
        """The job's id, for the URL of a result page that reads the kept result."""
        return self._job.id

    def keep(self, result: Any) -> None:
        """Keep the work's result on the job (e.g. an import report) for its result page."""
        self._job.result = result


# The work returns the URL of its result page (or None to stay on the job page).
Work = Callable[[ProgressReporter], "str | None"]


class JobRunner:
    """Runs jobs on a small thread pool and remembers the last few hundred."""

    def __init__(self, workers: int = 2, keep: int = 200) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="placehub-job")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._keep = keep

    def start(self, title: str, owner: str, work: Work) -> Job:
        job = Job(id=secrets.token_urlsafe(9), title=title, owner=owner)
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > self._keep:
                self._jobs.pop(next(iter(self._jobs)))
        self._pool.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Work) -> None:
        try:
            job.result_url = work(ProgressReporter(job))
            job.progress, job.state, job.message = 1.0, "done", "Finished"
        except PlacehubError as error:
            job.state, job.error = "failed", error.message
        except Exception as error:  # noqa: BLE001 - shown on the page instead of a blank screen
            log.exception("job %s (%s) failed", job.id, job.title)
            job.state, job.error = "failed", f"{error.__class__.__name__}: {error}"

    def get(self, job_id: str, owner: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None or job.owner != owner:
            raise NotFound(f"job {job_id} not found: it may have finished long ago")
        return job

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
