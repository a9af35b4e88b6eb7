"""People and departments: who may work which department's tasks, and who heads it.

Passwords arrive already hashed: hashing is the sign-in layer's business, the engine only keeps the hash."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from engine.clock import Clock
from engine.errors import EngineError, NotFound
from engine.storage.database import Database
from engine.storage.models import Department, LoginEvent, Membership, User
from engine.storage.unit_of_work import UnitOfWork

MEMBERSHIP_ROLES = ("member", "head")
USER_ROLES = ("process_owner", "auditor", "admin")


class InvalidUser(EngineError):
    """A user that cannot be stored as given (duplicate name, unknown department or role)."""


@dataclass(frozen=True)
class DepartmentView:
    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class UserView:
    username: str
    display_name: str
    email: str | None
    active: bool
    password_hash: str = field(repr=False)
    roles: tuple[str, ...] = ()
    departments: dict[str, str] = field(default_factory=dict)  # department code -> member / head
    session_generation: int = 0  # a session cookie of another generation is signed out (webapp/auth.py)

    def works_in(self, department: str) -> bool:
        return department in self.departments

    def heads(self, department: str) -> bool:
        return self.departments.get(department) == "head"

    def has_role(self, role: str) -> bool:
        return role in self.roles


def user_view(user: User) -> UserView:
    """The read-only view of a user row, for other engine modules reading users in their own session."""
    return UserView(user.username, user.display_name, user.email, user.active, user.password_hash,
                    tuple(user.roles or ()), {m.department: m.role for m in user.memberships},
                    user.session_generation or 0)


class Directory:
    """Commands and queries on users; each command is one transaction with its audit event."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def add_user(self, username: str, display_name: str, password_hash: str, departments: dict[str, str],
                 roles: tuple[str, ...] = (), email: str | None = None, actor: str = "system") -> UserView:
        with UnitOfWork(self.db, self.clock) as uow:
            if uow.session.get(User, username) is not None:
                raise InvalidUser(f"user '{username}' already exists")
            known = set(uow.session.scalars(select(Department.code)))
            for code, role in departments.items():
                if code not in known:
                    raise InvalidUser(f"unknown department '{code}'")
                if role not in MEMBERSHIP_ROLES:
                    raise InvalidUser(f"department role must be one of {', '.join(MEMBERSHIP_ROLES)}, not '{role}'")
            for role in roles:
                if role not in USER_ROLES:
                    raise InvalidUser(f"role must be one of {', '.join(USER_ROLES)}, not '{role}'")
            user = User(username=username, display_name=display_name, email=email, password_hash=password_hash,
                        roles=list(roles), active=True, created_at=uow.now,
                        memberships=[Membership(department=code, role=role) for code, role in departments.items()])
            uow.session.add(user)
            uow.audit("user_created", actor, detail={"username": username, "departments": departments,
                                                     "roles": list(roles)})
            uow.session.flush()
            view = user_view(user)
            uow.commit()
            return view

    def set_password_hash(self, username: str, password_hash: str, actor: str, ip: str | None = None,
                          user_agent: str | None = None) -> None:
        """Store a new password (checked against engine.accounts.passwords by the caller, who knows the plain text);
        the change is in the audit trail (who did it) and in the sign-in log (from where), and it ends every
        session the user has (the caller may carry its own on with the new generation)."""
        with UnitOfWork(self.db, self.clock) as uow:
            user = uow.session.get(User, username)
            if user is None:
                raise NotFound(f"no user '{username}'")
            user.password_hash = password_hash
            user.session_generation = (user.session_generation or 0) + 1
            uow.audit("password_changed", actor, detail={"username": username})
            uow.session.add(LoginEvent(at=uow.now, username=username, outcome="password_changed",
                                       ip=ip[:64] if ip else None,
                                       user_agent=user_agent[:300] if user_agent else None))
            uow.commit()

    def set_active(self, username: str, active: bool, actor: str) -> UserView:
        """Deactivate (or reactivate) a user: a deactivated user cannot sign in or use API tokens, and every
        session they had ends; a reactivated one signs in again (old sessions stay ended)."""
        with UnitOfWork(self.db, self.clock) as uow:
            user = uow.session.get(User, username)
            if user is None:
                raise NotFound(f"no user '{username}'")
            if user.active != active:
                user.active = active
                user.session_generation = (user.session_generation or 0) + 1
                uow.audit("user_activated" if active else "user_deactivated", actor, detail={"username": username})
            view = user_view(user)
            uow.commit()
            return view

    def get(self, username: str) -> UserView | None:
        with self.db.sessions() as session:
            user = session.get(User, username)
            return user_view(user) if user else None

    def colleagues(self, department: str) -> list[UserView]:
        """Active members of a department, for handing a task over."""
        with self.db.sessions() as session:
            users = session.scalars(select(User).join(Membership).where(
                Membership.department == department, User.active.is_(True)).order_by(User.username))
            return [user_view(u) for u in users]

    def display_names(self, usernames: set[str]) -> dict[str, str]:
        """Names to show for the people in a case's history."""
        if not usernames:
            return {}
        with self.db.sessions() as session:
            return dict(session.execute(select(User.username, User.display_name)
                                        .where(User.username.in_(usernames))).all())

    def users(self) -> list[UserView]:
        with self.db.sessions() as session:
            return [user_view(u) for u in session.scalars(select(User).order_by(User.username))]

    def departments(self) -> list[DepartmentView]:
        with self.db.sessions() as session:
            return [DepartmentView(d.code, d.name_zh, d.name_en)
                    for d in session.scalars(select(Department).order_by(Department.code))]
