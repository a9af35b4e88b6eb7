"""The system's settings, read from environment variables in one place.

Every process (web app under gunicorn, timer workers, the command line) reads the same variables, so a
deployment is configured once (docker-compose.yml, a systemd unit, a shell) and a mistyped value stops the
process at start with the variable named, instead of failing later when it is first used.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.accounts.passwords import broken_rules, normalised
from engine.working_time.calendar import DEFAULT_REGION, UnknownRegion, public_holidays

DEFAULT_DATABASE_URL = "sqlite:///aftersales.db"
PROJECT_PROCESSES = Path(__file__).resolve().parents[1] / "processes"

# A session-signing key shorter than this is guessable offline from one cookie.
MIN_SECRET_KEY_BYTES = 32
MAKE_A_SECRET_KEY = 'python3 -c "import secrets; print(secrets.token_hex(32))"'
# The values .env.example ships with (and older ones): anyone can read them, so they are never a live secret.
EXAMPLE_SECRET_KEYS = frozenset({"change-me-to-64-random-hex-characters"})
EXAMPLE_ADMIN_PASSWORDS = frozenset({"change-me-2026!"})
_PLACEHOLDER_MARKS = ("change-me", "changeme", "change_me")


class SettingsError(ValueError):
    """A variable has a value the system cannot use; the message names it."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    security: str = "none"  # none | starttls | ssl
    from_address: str = "aftersales@localhost"
    timeout: float = 30.0


@dataclass(frozen=True)
class Settings:
    """What a running system is configured with (see the README's Configuration table)."""

    database_url: str = DEFAULT_DATABASE_URL
    # SQLite: seconds a change waits for another's write lock before the user is asked to try again.
    database_lock_wait: float = 30.0
    # None: the embedded server keeps a generated key in its instance folder.
    secret_key: str | None = field(default=None, repr=False)
    secure_cookies: bool = False
    # Reverse proxies in front of the web app whose X-Forwarded-For/-Proto are believed (0: none).
    trusted_proxies: int = 0
    session_idle_minutes: int = 120
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    webhook_url: str | None = None
    outbox_file: str | None = None
    worker_poll_seconds: float = 1.0
    calendar_region: str = DEFAULT_REGION
    retention_years: int = 10
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    password_min_length: int = 10
    processes_dir: Path = PROJECT_PROCESSES
    instance_path: str | None = None
    # `aftersales init` on a database without users: an administrator `admin` with this password, and the
    # demo users of every department when demo_users is on (a trial, never production).
    admin_password: str | None = field(default=None, repr=False)
    demo_users: bool = False

    def __post_init__(self) -> None:
        # However the settings are made (environment, a test, an embedding program): no placeholder secret.
        if self.secret_key is not None:
            check_secret_key(self.secret_key)
        if self.admin_password is not None:
            check_admin_password(self.admin_password)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from `env` (default: the process environment); raises SettingsError naming the variable."""
        env = os.environ if env is None else env
        read = _Reader(env)
        smtp = SmtpSettings(
            host=read.text("AFTERSALES_SMTP_HOST"),
            port=read.integer("AFTERSALES_SMTP_PORT", None, minimum=1, maximum=65535),
            user=read.text("AFTERSALES_SMTP_USER"),
            password=read.text("AFTERSALES_SMTP_PASSWORD"),
            security=read.choice("AFTERSALES_SMTP_SECURITY", "none", ("none", "starttls", "ssl")),
            from_address=read.text("AFTERSALES_SMTP_FROM") or "aftersales@localhost",
            timeout=read.number("AFTERSALES_SMTP_TIMEOUT", 30.0, minimum=1),
        )
        password_min_length = read.integer("AFTERSALES_PASSWORD_MIN_LENGTH", 10, minimum=8)
        secret_key = read.text("AFTERSALES_SECRET_KEY")
        if secret_key is not None:
            check_secret_key(secret_key)
        admin_password = read.text("AFTERSALES_ADMIN_PASSWORD")
        if admin_password is not None:  # the first administrator's password meets the policy like any other
            check_admin_password(admin_password)
            broken = broken_rules(admin_password, "admin", password_min_length)
            if broken:
                raise SettingsError("AFTERSALES_ADMIN_PASSWORD is refused: "
                                    + "; ".join(rule.message for rule in broken))
        return cls(
            database_url=read.text("DATABASE_URL") or DEFAULT_DATABASE_URL,
            database_lock_wait=read.number("AFTERSALES_DB_LOCK_WAIT", 30.0, minimum=0.1),
            secret_key=secret_key,
            secure_cookies=read.flag("AFTERSALES_SECURE_COOKIES", False),
            trusted_proxies=read.integer("AFTERSALES_TRUSTED_PROXIES", 0, minimum=0, maximum=5),
            session_idle_minutes=read.integer("AFTERSALES_SESSION_IDLE_MINUTES", 120, minimum=1),
            smtp=smtp,
            webhook_url=read.text("AFTERSALES_WEBHOOK_URL"),
            outbox_file=read.text("AFTERSALES_OUTBOX_FILE"),
            worker_poll_seconds=read.number("AFTERSALES_WORKER_POLL", 1.0, minimum=0.05),
            calendar_region=read.region("AFTERSALES_CALENDAR_REGION", DEFAULT_REGION),
            retention_years=read.integer("AFTERSALES_RETENTION_YEARS", 10, minimum=1),
            login_max_failures=read.integer("AFTERSALES_LOGIN_MAX_FAILURES", 5, minimum=1),
            login_lockout_minutes=read.integer("AFTERSALES_LOGIN_LOCKOUT_MINUTES", 15, minimum=1),
            password_min_length=password_min_length,
            processes_dir=Path(read.text("AFTERSALES_PROCESSES") or PROJECT_PROCESSES),
            instance_path=read.text("AFTERSALES_INSTANCE_PATH"),
            admin_password=admin_password,
            demo_users=read.flag("AFTERSALES_DEMO_USERS", False),
        )

    @classmethod
    def variables(cls) -> list[str]:
        """The names of the variables read (the README documents each)."""
        cls.from_env({})  # reading an empty environment names every variable once
        return sorted(_Reader.seen)


def check_secret_key(key: str) -> None:
    """Refuse a key that signs session cookies but is public (an example value) or too short to be secret."""
    if key.strip().lower() in EXAMPLE_SECRET_KEYS or any(mark in key.lower() for mark in _PLACEHOLDER_MARKS):
        raise SettingsError("AFTERSALES_SECRET_KEY is still the placeholder of .env.example, which anyone can "
                            f"read; make a random one with: {MAKE_A_SECRET_KEY}")
    if len(key.encode("utf-8")) < MIN_SECRET_KEY_BYTES:
        raise SettingsError(f"AFTERSALES_SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} bytes long, not "
                            f"{len(key.encode('utf-8'))}; make a random one with: {MAKE_A_SECRET_KEY}")


def check_admin_password(password: str) -> None:
    """Refuse the example administrator password of .env.example (it meets the policy, but is public)."""
    typed = normalised(password).strip().lower()
    if typed in EXAMPLE_ADMIN_PASSWORDS or any(mark in typed for mark in _PLACEHOLDER_MARKS):
        raise SettingsError("AFTERSALES_ADMIN_PASSWORD is still the example of .env.example, which anyone can "
                            "read; choose the administrator's own first password (see the password policy in "
                            "the README)")


def load_settings() -> Settings:
    """The settings of this process, from its environment."""
    return Settings.from_env()


class _Reader:
    seen: set[str] = set()

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def text(self, name: str) -> str | None:
        _Reader.seen.add(name)
        value = self.env.get(name)
        return value.strip() or None if value is not None else None

    def flag(self, name: str, default: bool) -> bool:
        value = self.text(name)
        if value is None:
            return default
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        raise SettingsError(f"{name} must be 1 or 0 (true/false), not '{value}'")

    def integer(self, name: str, default: int | None, minimum: int | None = None,
                maximum: int | None = None) -> int | None:
        value = self.text(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, not '{value}'") from None
        _check_range(name, number, minimum, maximum)
        return number

    def number(self, name: str, default: float, minimum: float | None = None) -> float:
        value = self.text(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            raise SettingsError(f"{name} must be a number, not '{value}'") from None
        _check_range(name, number, minimum, None)
        return number

    def choice(self, name: str, default: str, options: tuple[str, ...]) -> str:
        value = self.text(name)
        if value is None:
            return default
        if value.lower() not in options:
            raise SettingsError(f"{name} must be one of {', '.join(options)}, not '{value}'")
        return value.lower()

    def region(self, name: str, default: str) -> str:
        value = self.text(name)
        if value is None:
            return default
        try:
            public_holidays(value)
        except UnknownRegion:
            raise SettingsError(f"{name} must be a country code the holidays package knows (e.g. CN, HK, DE), "
                                f"not '{value}'") from None
        return value.upper()


def _check_range(name: str, number: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and number < minimum:
        raise SettingsError(f"{name} must be at least {minimum:g}, not {number:g}")
    if maximum is not None and number > maximum:
        raise SettingsError(f"{name} must be at most {maximum:g}, not {number:g}")


__all__ = ["Settings", "SettingsError", "SmtpSettings", "load_settings", "DEFAULT_DATABASE_URL",
           "check_secret_key", "check_admin_password"]
