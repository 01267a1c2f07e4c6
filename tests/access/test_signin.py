"""Sign-in: throttling with backoff, constant work for unknown users, server-side sessions."""

from datetime import timedelta

import anyio
import pytest

from placehub.access import service, signin
from placehub.db import Database
from placehub.errors import Unauthorized


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_account_waits_after_free_attempts_and_backs_off() -> None:
    """After five wrong passwords an account waits 1 s, then 2 s, 4 s ... up to the cap."""
    clock = FakeClock()
    throttle = signin.SignInThrottle(account_free=5, address_free=1000, max_seconds=8,
                                     clock=clock)
    for _ in range(4):
        throttle.failed("ann", "10.0.0.1")
    throttle.check("ann", "10.0.0.1")  # four wrong: still free
    throttle.failed("ann", "10.0.0.1")
    waits = []
    for _ in range(5):
        with pytest.raises(signin.TooManyAttempts) as refused:
            throttle.check("Ann", "10.0.0.2")  # the account, whatever the case or address
        waits.append(refused.value.retry_after)
        clock.now += refused.value.retry_after
        throttle.check("ann", "10.0.0.2")
        throttle.failed("ann", "10.0.0.2")
    assert waits == [1, 2, 4, 8, 8]
    assert refused.value.status_code == 429 and refused.value.headers["Retry-After"] == "8"
    throttle.check("bob", "10.0.0.3")  # other accounts are not held up


def test_address_is_throttled_across_accounts() -> None:
    """Guessing one password per username from one address still runs into the address limit."""
    clock = FakeClock()
    throttle = signin.SignInThrottle(account_free=5, address_free=20, clock=clock)
    for number in range(20):
        throttle.failed(f"user{number}", "192.0.2.7")
    with pytest.raises(signin.TooManyAttempts):
        throttle.check("someone-else", "192.0.2.7")
    throttle.check("someone-else", "192.0.2.8")


def test_success_clears_account_and_failures_are_forgotten() -> None:
    """A right password clears its account's count; an hour without failures clears a key."""
    clock = FakeClock()
    throttle = signin.SignInThrottle(account_free=2, address_free=3, clock=clock)
    throttle.failed("ann", "a")
    throttle.succeeded("ann")
    throttle.failed("ann", "b")
    throttle.check("ann", "b")  # one failure since the success
    for _ in range(3):
        throttle.failed("cat", "c")
    with pytest.raises(signin.TooManyAttempts):
        throttle.check("cat", "d")
    clock.now += 3601
    throttle.failed("cat", "c")
    throttle.check("cat", "c")  # counting started again


def test_memory_stays_bounded_under_a_flood() -> None:
    """A flood of distinct usernames keeps at most max_keys entries."""
    throttle = signin.SignInThrottle(max_keys=100, clock=FakeClock())
    for number in range(1000):
        throttle.failed(f"u{number}", f"addr{number}")
    assert len(throttle._keys) <= 100


def test_unknown_and_passwordless_users_cost_a_hash(database: Database,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Unknown usernames and token-only accounts run scrypt like a known one, then fail alike."""
    with database.begin() as conn:
        service.create_user(conn, "ann", password="s3cret-pass")
        service.create_user(conn, "robot")
    checked = []
    real = service.verify_password
    monkeypatch.setattr(service, "verify_password",
                        lambda password, stored: checked.append(stored) or real(password, stored))
    with database.connect() as conn:
        for name in ("ann", "nobody", "robot"):
            with pytest.raises(Unauthorized, match="wrong username or password"):
                service.authenticate_password(conn, name, "wrong-pass")
    assert len(checked) == 3 and all(s and s.startswith("scrypt$") for s in checked)


def test_sign_in_counts_failures_and_runs_off_the_loop(database: Database) -> None:
    """sign_in hashes in a worker thread and counts a wrong password; the right one works."""
    with database.begin() as conn:
        service.create_user(conn, "ann", password="s3cret-pass")
    throttle = signin.SignInThrottle(account_free=1, clock=FakeClock())

    async def attempts() -> str:
        with pytest.raises(Unauthorized):
            await signin.sign_in(database, throttle, "ann", "wrong-pass", "a")
        with pytest.raises(signin.TooManyAttempts):
            await signin.sign_in(database, throttle, "ann", "s3cret-pass", "a")
        throttle._keys.clear()
        return (await signin.sign_in(database, throttle, "ann", "s3cret-pass", "a")).username

    assert anyio.run(attempts) == "ann"


def test_sessions_end_on_sign_out_password_change_and_expiry(database: Database) -> None:
    """A session works until ended; a password change ends all of them; they expire at 12 h."""
    with database.begin() as conn:
        user = service.create_user(conn, "ann", password="s3cret-pass")
        first, second, third = (signin.start_session(conn, user) for _ in range(3))
        assert signin.principal_for_session(conn, first).username == "ann"
        signin.end_session(conn, first)
        with pytest.raises(Unauthorized, match="session has ended"):
            signin.principal_for_session(conn, first)
        assert signin.principal_for_session(conn, second).user_id == user
        assert signin.set_password(conn, user, "another-pass") == 2
        for ended in (second, third):
            with pytest.raises(Unauthorized):
                signin.principal_for_session(conn, ended)
        assert service.authenticate_password(conn, "ann", "another-pass").user_id == user
        fourth = signin.start_session(conn, user)
        later = service.now() + timedelta(hours=signin.SESSION_HOURS, seconds=1)
        with pytest.raises(Unauthorized):
            signin.principal_for_session(conn, fourth, at=later)
        assert signin.forget_expired_sessions(conn, at=later) == 1
