"""Personal API tokens: another system (a hotline, a CRM) acts as one user with the same rights.

The plain token is shown once when it is issued; only its SHA-256 is stored (a random 256-bit token needs
no slow hash), with a short prefix that lets its owner tell tokens apart."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from engine.accounts.directory import Directory, UserView
from engine.clock import Clock
from engine.errors import EngineError, NotFound
from engine.storage.database import Database
from engine.storage.models import ApiToken, User
from engine.storage.unit_of_work import UnitOfWork

TOKEN_PREFIX = "asw_"  # "after-sales workflow": recognisable in logs and secret scanners
NAME_MAX = 80
# last_used_at is written at most this often per token, so reading the API is not a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class InvalidTokenRequest(EngineError):
    """A token that cannot be issued as asked (unknown or inactive user, empty or long name)."""


@dataclass(frozen=True)
class IssuedToken:
    """The only time the plain token exists outside its holder's hands."""

    id: int
    token: str
    prefix: str
    name: str


@dataclass(frozen=True)
class ApiTokenView:
    id: int
    username: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _view(row: ApiToken) -> ApiTokenView:
    return ApiTokenView(row.id, row.username, row.name, row.prefix, row.created_at, row.last_used_at,
                        row.revoked_at)


def issue(db: Database, clock: Clock, username: str, name: str, actor: str) -> IssuedToken:
    """Create a token for an active user; the plain value is returned here and never again."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidTokenRequest(f"a token needs a name of 1 to {NAME_MAX} characters")
    with UnitOfWork(db, clock) as uow:
        user = uow.session.get(User, username)
        if user is None or not user.active:
            raise InvalidTokenRequest(f"no active user '{username}'")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        prefix = token[:len(TOKEN_PREFIX) + 6]
        row = ApiToken(username=username, name=name, prefix=prefix, token_hash=_hash(token), created_at=uow.now)
        uow.session.add(row)
        uow.session.flush()
        uow.audit("api_token_issued", actor, detail={"username": username, "name": name, "prefix": prefix,
                                                      "token_id": row.id})
        issued = IssuedToken(row.id, token, prefix, name)
        uow.commit()
        return issued


def shown_prefix(token: str) -> str:
    """What the sign-in log keeps of a refused token: its visible prefix (the owner's token list shows the
    same), or "?" for something that is not a token of this system (never a secret sent by mistake)."""
    if token.startswith(TOKEN_PREFIX) and len(token) > len(TOKEN_PREFIX) + 6:
        return token[:len(TOKEN_PREFIX) + 6]
    return "?"


def verify(db: Database, clock: Clock, token: str) -> UserView | None:
    """The active user a presented token stands for, or None (unknown, revoked, or user deactivated)."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    now = clock.now()
    with db.sessions() as session:  # a read: an API call takes no write lock unless the last use is stale
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token)))
        if row is None or row.revoked_at is not None:
            return None
        user = session.get(User, row.username)
        if user is None or not user.active:
            return None
        token_id, username, stale = row.id, user.username, (row.last_used_at is None
                                                             or now - row.last_used_at >= LAST_USED_RESOLUTION)
    if stale:
        with db.writing() as session:
            session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
    return Directory(db, clock).get(username)


def revoke(db: Database, clock: Clock, token_id: int, actor: str, owner: str | None = None) -> ApiTokenView:
    """Stop a token working at once; `owner` limits it to that user's own tokens (the account page)."""
    with UnitOfWork(db, clock) as uow:
        row = uow.session.get(ApiToken, token_id)
        if row is None or (owner is not None and row.username != owner):
            raise NotFound(f"no token {token_id}")
        if row.revoked_at is None:
            row.revoked_at = uow.now
            uow.audit("api_token_revoked", actor, detail={"username": row.username, "name": row.name,
                                                           "prefix": row.prefix, "token_id": row.id})
        view = _view(row)
        uow.commit()
        return view


def list_tokens(db: Database, username: str) -> list[ApiTokenView]:
    """A user's tokens, newest first, revoked ones included (they say when)."""
    with db.sessions() as session:
        rows = session.scalars(select(ApiToken).where(ApiToken.username == username)
                               .order_by(ApiToken.id.desc()))
        return [_view(row) for row in rows]
