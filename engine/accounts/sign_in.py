"""Signing in: the rules that decide an attempt, the lockout after repeated failures, and the sign-in log.

Every attempt, sign-out, expired session, password change and refused API token is a row of login_events.
Refused API tokens are throttled per address like password failures (`token_locked_until`). The lockout is
read from those rows, so it holds across every web process and restart: after `max_failures` failed
attempts for one user name within `lockout_minutes` (counted since that name's last successful sign-in),
further attempts for the name are refused, even with the right password, until the window has passed; an
address with `ip_factor` times as many failures across names (password spraying) is refused likewise. A
successful sign-in keeps the failures before it in the log; it only stops them counting.

The web layer checks the password (hashing is its business) through the callable it passes in."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, text

from engine.accounts.directory import UserView, user_view
from engine.clock import Clock
from engine.errors import EngineError
from engine.storage.database import Database
from engine.storage.models import LoginEvent, User
from engine.storage.paging import Page, page_within
from engine.working_time.calendar import beijing_day_start

SIGNED_IN = "signed_in"
WRONG_PASSWORD = "wrong_password"
UNKNOWN_USER = "unknown_user"
INACTIVE_USER = "inactive_user"
LOCKED_OUT = "locked_out"
SIGNED_OUT = "signed_out"
SESSION_EXPIRED = "session_expired"
PASSWORD_CHANGED = "password_changed"
# A session cookie issued before the user signed out, changed the password or was deactivated came back.
SESSION_REVOKED = "session_revoked"
# An API call with a token that is unknown, revoked or of an inactive user (the user name column keeps the
# token's visible prefix, asw_ and six characters, as the owner's token list shows it).
API_TOKEN_REFUSED = "api_token_refused"
OUTCOMES = (SIGNED_IN, WRONG_PASSWORD, UNKNOWN_USER, INACTIVE_USER, LOCKED_OUT, SIGNED_OUT, SESSION_EXPIRED,
            PASSWORD_CHANGED, SESSION_REVOKED, API_TOKEN_REFUSED)
# What counts towards a lockout. Refused attempts while locked do not: the lock ends when the window has
# passed, however often someone keeps trying.
FAILURES = (WRONG_PASSWORD, UNKNOWN_USER, INACTIVE_USER)

USERNAME_MAX = 80
IP_MAX = 64
USER_AGENT_MAX = 300


class LoginLogError(EngineError):
    """A filter of the sign-in log that cannot be applied (the message says which)."""


@dataclass(frozen=True)
class SignInPolicy:
    """How many failures lock a user name (and an address) out, and for how long."""

    max_failures: int = 5
    lockout_minutes: int = 15
    ip_factor: int = 4  # an address may fail this many times the per-name limit, across names

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.lockout_minutes)

    @property
    def ip_max_failures(self) -> int:
        return self.max_failures * self.ip_factor

    @classmethod
    def from_settings(cls, settings) -> SignInPolicy:
        """The policy of engine.settings.Settings (login_max_failures, login_lockout_minutes)."""
        return cls(max_failures=settings.login_max_failures, lockout_minutes=settings.login_lockout_minutes)


@dataclass(frozen=True)
class Client:
    """Where a request came from, as the log keeps it (cut to the column sizes)."""

    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class SignInResult:
    outcome: str
    user: UserView | None = None  # the user signed in (only for signed_in)
    locked_until: datetime | None = None  # for locked_out: when attempts are accepted again

    @property
    def signed_in(self) -> bool:
        return self.outcome == SIGNED_IN


@dataclass(frozen=True)
class LoginRow:
    id: int
    at: datetime
    username: str
    outcome: str
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class LoginQuery:
    """The auditors' filters: user name (start of), outcome, Beijing dates from/to (inclusive), page."""

    username: str | None = None
    outcome: str | None = None
    day_from: date | None = None
    day_to: date | None = None
    page: int = 1
    per_page: int = 50


class LoginPage(Page[LoginRow]):
    """One page of LoginRows."""


def typed_username(username: str | None) -> str:
    """The user name as the log keeps it: trimmed and cut to the column size."""
    return (username or "").strip()[:USERNAME_MAX]


def _cut(value: str | None, size: int) -> str | None:
    return value[:size] if value else None


class SignIns:
    """Sign-in attempts and the log; one transaction per call."""

    def __init__(self, db: Database, clock: Clock, policy: SignInPolicy | None = None) -> None:
        self.db = db
        self.clock = clock
        self.policy = policy or SignInPolicy()

    def attempt(self, username: str, password_matches: Callable[[str | None], bool],
                client: Client = Client()) -> SignInResult:
        """Decide one sign-in attempt and log it. `password_matches(hash)` checks the password typed against
        the stored hash (None for an unknown name: check against a dummy, so both take as long)."""
        name = typed_username(username)
        with self.db.writing() as session:
            if self.db.is_postgresql:
                # Attempts for one name from several web processes are decided one after the other, so
                # parallel guesses cannot all slip under the limit. (SQLite runs one writer at a time.)
                session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"sign_in:{name}"})
            now = self.clock.now()
            until = self._locked_until(session, name, client.ip, now)
            if until is not None:
                self._add(session, now, name, LOCKED_OUT, client)
                return SignInResult(LOCKED_OUT, locked_until=until)
            user = session.get(User, name) if name else None
            matches = password_matches(user.password_hash if user is not None else None)
            if user is None:
                outcome = UNKNOWN_USER
            elif not matches:
                outcome = WRONG_PASSWORD
            elif not user.active:
                outcome = INACTIVE_USER
            else:
                outcome = SIGNED_IN
            self._add(session, now, name, outcome, client)
            return SignInResult(outcome, user=user_view(user) if outcome == SIGNED_IN else None)

    def sign_out(self, username: str, client: Client = Client()) -> None:
        """Log the sign-out and end the user's sessions on the server: every cookie issued to them before
        (in this browser or another, or copied) is refused from the next request on."""
        with self.db.writing() as session:
            user = session.get(User, username)
            if user is not None:
                user.session_generation = (user.session_generation or 0) + 1
            self._add(session, self.clock.now(), typed_username(username), SIGNED_OUT, client)

    def locked_until(self, username: str, ip: str | None = None) -> datetime | None:
        """When attempts for this name (from this address) are accepted again; None: they are now."""
        with self.db.sessions() as session:
            return self._locked_until(session, typed_username(username), ip, self.clock.now())

    def token_locked_until(self, ip: str | None) -> datetime | None:
        """When API calls from this address are accepted again after too many refused tokens (the same
        number and window as an address's failed sign-ins); None: they are now."""
        if not ip:
            return None
        with self.db.sessions() as session:
            since = self.clock.now() - self.policy.window
            return self._release(session, self.policy.ip_max_failures, since, LoginEvent.ip == ip,
                                 outcomes=(API_TOKEN_REFUSED,))

    def record(self, outcome: str, username: str, client: Client = Client()) -> None:
        """Log an event that is not an attempt: signed_out, session_expired, password_changed, or a failed
        password check outside the sign-in page (wrong_password)."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown sign-in outcome '{outcome}'")
        with self.db.writing() as session:
            self._add(session, self.clock.now(), typed_username(username), outcome, client)

    def log(self, query: LoginQuery) -> LoginPage:
        """The sign-in log, newest first, one page of it."""
        if query.outcome is not None and query.outcome not in OUTCOMES:
            raise LoginLogError(f"unknown outcome '{query.outcome}'")
        if query.day_from and query.day_to and query.day_from > query.day_to:
            raise LoginLogError("the start of the date range is after its end")
        if query.page < 1 or not 1 <= query.per_page <= 500:
            raise LoginLogError("pages count from 1 and hold 1 to 500 rows")
        conditions = []
        if query.username:
            escaped = query.username.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conditions.append(LoginEvent.username.like(escaped + "%", escape="\\"))
        if query.outcome:
            conditions.append(LoginEvent.outcome == query.outcome)
        if query.day_from:
            conditions.append(LoginEvent.at >= beijing_day_start(query.day_from))
        if query.day_to:
            conditions.append(LoginEvent.at < beijing_day_start(query.day_to + timedelta(days=1)))
        with self.db.sessions() as session:
            total = session.scalar(select(func.count()).select_from(LoginEvent).where(*conditions)) or 0
            page = page_within(query.page, total, query.per_page)
            events = session.scalars(select(LoginEvent).where(*conditions)
                                     .order_by(LoginEvent.at.desc(), LoginEvent.id.desc())
                                     .offset((page - 1) * query.per_page).limit(query.per_page))
            rows = [LoginRow(e.id, e.at, e.username, e.outcome, e.ip, e.user_agent) for e in events]
        return LoginPage(rows, total, page, query.per_page)

    def _locked_until(self, session, name: str, ip: str | None, now: datetime) -> datetime | None:
        since = now - self.policy.window
        last_success = session.scalar(select(func.max(LoginEvent.id)).where(
            LoginEvent.username == name, LoginEvent.outcome == SIGNED_IN, LoginEvent.at > since)) or 0
        by_name = self._release(session, self.policy.max_failures, since,
                                LoginEvent.username == name, LoginEvent.id > last_success)
        # An address is not forgiven by a success: a sprayer who knows one password must not reset its count.
        by_ip = self._release(session, self.policy.ip_max_failures, since, LoginEvent.ip == ip) if ip else None
        candidates = [moment for moment in (by_name, by_ip) if moment is not None]
        return max(candidates) if candidates else None

    def _release(self, session, limit: int, since: datetime, *conditions,
                 outcomes: tuple[str, ...] = FAILURES) -> datetime | None:
        """With `limit` or more failures in the window: the moment the limit-th newest leaves it."""
        failures = session.scalars(select(LoginEvent.at).where(
            *conditions, LoginEvent.outcome.in_(outcomes), LoginEvent.at > since)
            .order_by(LoginEvent.at.desc(), LoginEvent.id.desc()).limit(limit)).all()
        if len(failures) < limit:
            return None
        return failures[-1] + self.policy.window

    @staticmethod
    def _add(session, now: datetime, name: str, outcome: str, client: Client) -> None:
        session.add(LoginEvent(at=now, username=name, outcome=outcome, ip=_cut(client.ip, IP_MAX),
                               user_agent=_cut(client.user_agent, USER_AGENT_MAX)))
