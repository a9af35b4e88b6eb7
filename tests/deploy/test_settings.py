"""The settings every process reads at start: each variable parsed, defaults, and a bad value stopping
the command line, the web app and the worker with the variable named."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from werkzeug.security import check_password_hash

from engine.accounts.directory import Directory
from engine.settings import DEFAULT_DATABASE_URL, Settings, SettingsError, SmtpSettings
from tests.deploy.compose import ROOT
from webapp import create_app
from webapp.cli import main
from webapp.composition import build_engine

EVERY_VARIABLE = {
    "DATABASE_URL": "postgresql+psycopg://aftersales:pw@db:5432/aftersales",
    "AFTERSALES_SECRET_KEY": "k" * 64,
    "AFTERSALES_SECURE_COOKIES": "1",
    "AFTERSALES_SESSION_IDLE_MINUTES": "30",
    "AFTERSALES_SMTP_HOST": "smtp.exmail.qq.com",
    "AFTERSALES_SMTP_PORT": "465",
    "AFTERSALES_SMTP_USER": "bot",
    "AFTERSALES_SMTP_PASSWORD": "smtp-secret",
    "AFTERSALES_SMTP_SECURITY": "SSL",
    "AFTERSALES_SMTP_FROM": "售后系统 <noreply@corp.cn>",
    "AFTERSALES_SMTP_TIMEOUT": "12.5",
    "AFTERSALES_WEBHOOK_URL": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x",
    "AFTERSALES_OUTBOX_FILE": "/var/lib/aftersales/outbox.jsonl",
    "AFTERSALES_WORKER_POLL": "0.5",
    "AFTERSALES_DB_LOCK_WAIT": "5",
    "AFTERSALES_CALENDAR_REGION": "hk",
    "AFTERSALES_RETENTION_YEARS": "15",
    "AFTERSALES_LOGIN_MAX_FAILURES": "3",
    "AFTERSALES_LOGIN_LOCKOUT_MINUTES": "30",
    "AFTERSALES_PASSWORD_MIN_LENGTH": "12",
    "AFTERSALES_PROCESSES": "/app/processes",
    "AFTERSALES_INSTANCE_PATH": "/app/instance",
    "AFTERSALES_ADMIN_PASSWORD": "Long-first-login-2026",
    "AFTERSALES_DEMO_USERS": "yes",
    "AFTERSALES_TRUSTED_PROXIES": "1",
}


def test_every_variable_is_read_into_its_setting():
    assert sorted(EVERY_VARIABLE) == Settings.variables()
    assert Settings.from_env(EVERY_VARIABLE) == Settings(
        database_url="postgresql+psycopg://aftersales:pw@db:5432/aftersales", database_lock_wait=5.0,
        secret_key="k" * 64, secure_cookies=True, trusted_proxies=1, session_idle_minutes=30,
        smtp=SmtpSettings(host="smtp.exmail.qq.com", port=465, user="bot", password="smtp-secret", security="ssl",
                          from_address="售后系统 <noreply@corp.cn>", timeout=12.5),
        webhook_url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x",
        outbox_file="/var/lib/aftersales/outbox.jsonl", worker_poll_seconds=0.5, calendar_region="HK",
        retention_years=15, login_max_failures=3, login_lockout_minutes=30, password_min_length=12,
        processes_dir=Path("/app/processes"), instance_path="/app/instance",
        admin_password="Long-first-login-2026", demo_users=True)


def test_an_empty_environment_gives_the_defaults_of_a_trial_install():
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite:///aftersales.db"
    assert (settings.secret_key, settings.secure_cookies, settings.session_idle_minutes) == (None, False, 120)
    assert settings.smtp == SmtpSettings(None, None, None, None, "none", "aftersales@localhost", 30.0)
    assert (settings.webhook_url, settings.outbox_file, settings.worker_poll_seconds) == (None, None, 1.0)
    assert settings.calendar_region == "CN"
    assert (settings.admin_password, settings.demo_users) == (None, False)
    assert (settings.processes_dir / "quality_feedback.bpmn").exists()
    # An empty value (as `${VAR:-}` in docker-compose.yml gives) is the same as no value.
    assert Settings.from_env({"AFTERSALES_SMTP_HOST": "", "AFTERSALES_SMTP_PORT": " "}).smtp.host is None


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("AFTERSALES_SMTP_PORT", "abc", "AFTERSALES_SMTP_PORT must be a whole number, not 'abc'"),
    ("AFTERSALES_SMTP_PORT", "70000", "AFTERSALES_SMTP_PORT must be at most 65535, not 70000"),
    ("AFTERSALES_SMTP_SECURITY", "tls", "AFTERSALES_SMTP_SECURITY must be one of none, starttls, ssl, not 'tls'"),
    ("AFTERSALES_SMTP_TIMEOUT", "soon", "AFTERSALES_SMTP_TIMEOUT must be a number, not 'soon'"),
    ("AFTERSALES_SECURE_COOKIES", "maybe", "AFTERSALES_SECURE_COOKIES must be 1 or 0 (true/false), not 'maybe'"),
    ("AFTERSALES_DEMO_USERS", "2", "AFTERSALES_DEMO_USERS must be 1 or 0 (true/false), not '2'"),
    ("AFTERSALES_SESSION_IDLE_MINUTES", "0", "AFTERSALES_SESSION_IDLE_MINUTES must be at least 1, not 0"),
    ("AFTERSALES_WORKER_POLL", "0", "AFTERSALES_WORKER_POLL must be at least 0.05, not 0"),
    ("AFTERSALES_PASSWORD_MIN_LENGTH", "6", "AFTERSALES_PASSWORD_MIN_LENGTH must be at least 8, not 6"),
    ("AFTERSALES_CALENDAR_REGION", "XX",
     "AFTERSALES_CALENDAR_REGION must be a country code the holidays package knows (e.g. CN, HK, DE), not 'XX'"),
    ("AFTERSALES_ADMIN_PASSWORD", "short",
     "AFTERSALES_ADMIN_PASSWORD is refused: it must be at least 10 characters long; it must use at least 3 of: "
     "upper-case letters, lower-case letters, digits, symbols"),
    ("AFTERSALES_ADMIN_PASSWORD", "Admin-2026-secret", "AFTERSALES_ADMIN_PASSWORD is refused: it must not contain the user name"),
])
def test_a_bad_value_is_refused_with_the_variable_named(variable, value, message):
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({variable: value})
    assert str(refused.value) == message


def test_the_readme_documents_every_variable():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Configuration"):readme.index("## Production (docker compose)")]
    assert [name for name in Settings.variables() if f"`{name}`" not in table] == []


def test_the_secrets_stay_out_of_logged_settings():
    shown = repr(Settings.from_env(EVERY_VARIABLE))
    assert "k" * 64 not in shown and "smtp-secret" not in shown and "Long-first-login-2026" not in shown


def _environment(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment without its own settings, plus `settings`, running this checkout."""
    clean = {k: v for k, v in os.environ.items() if not (k.startswith("AFTERSALES_") or k == "DATABASE_URL")}
    return {**clean, "PYTHONPATH": str(ROOT), **settings}


def _aftersales(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """The `aftersales` command as installed (its entry point), run on this checkout's code."""
    return subprocess.run([sys.executable, "-c", "import sys; from webapp.cli import main; sys.exit(main())", *args],
                          env=_environment(env), cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_a_bad_value_stops_the_command_line_with_the_variable_named(tmp_path):
    result = _aftersales("tasks", env={"AFTERSALES_SMTP_PORT": "abc",
                                       "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"}, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "configuration error: AFTERSALES_SMTP_PORT must be a whole number, not 'abc'"
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "a.db").exists()  # stopped before touching the database


def test_a_bad_value_stops_the_web_app_at_start(monkeypatch):
    monkeypatch.setenv("AFTERSALES_SMTP_PORT", "abc")
    with pytest.raises(SettingsError, match="AFTERSALES_SMTP_PORT must be a whole number, not 'abc'"):
        create_app()


FROM_SETTINGS = "from-settings-" + "s" * 32  # at least 32 bytes, as every secret key must be
FROM_ENVIRONMENT = "from-environment-" + "e" * 32


def test_the_web_app_takes_its_settings_and_tests_may_override_them(database, monkeypatch, tmp_path):
    engine = build_engine(database.engine.url.render_as_string(hide_password=False))
    settings = Settings.from_env({"AFTERSALES_SECRET_KEY": FROM_SETTINGS, "AFTERSALES_SECURE_COOKIES": "1",
                                  "AFTERSALES_SESSION_IDLE_MINUTES": "45",
                                  "AFTERSALES_INSTANCE_PATH": str(tmp_path / "instance")})
    app = create_app(engine, settings=settings)
    assert (app.config["SECRET_KEY"], app.config["SESSION_COOKIE_SECURE"], app.config["SESSION_IDLE_MINUTES"]) == \
        (FROM_SETTINGS, True, 45)
    assert app.instance_path == str(tmp_path / "instance")
    overridden = create_app(engine, {"SECRET_KEY": "test", "SESSION_IDLE_MINUTES": 5}, settings=settings)
    assert (overridden.config["SECRET_KEY"], overridden.config["SESSION_IDLE_MINUTES"]) == ("test", 5)
    monkeypatch.setenv("AFTERSALES_SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("AFTERSALES_SECRET_KEY", FROM_ENVIRONMENT)
    from_environment = create_app(engine)
    assert (from_environment.config["SECRET_KEY"], from_environment.config["SESSION_IDLE_MINUTES"]) == \
        (FROM_ENVIRONMENT, 15)


def test_the_engine_counts_working_days_on_the_configured_region(database):
    url = database.engine.url.render_as_string(hide_password=False)
    national_day, christmas = date(2026, 10, 1), date(2026, 12, 25)  # a Thursday and a Friday
    china = build_engine(url, settings=Settings.from_env({})).calendar
    germany = build_engine(url, settings=Settings.from_env({"AFTERSALES_CALENDAR_REGION": "de"})).calendar
    assert (china.is_working_day(national_day), china.is_working_day(christmas)) == (False, True)
    assert (germany.is_working_day(national_day), germany.is_working_day(christmas)) == (True, False)


def test_the_transports_come_from_the_settings(database, tmp_path):
    url = database.engine.url.render_as_string(hide_password=False)
    engine = build_engine(url, settings=Settings.from_env({
        "AFTERSALES_SMTP_HOST": "mail", "AFTERSALES_SMTP_PORT": "1025", "AFTERSALES_SMTP_FROM": "noreply@corp.cn",
        "AFTERSALES_OUTBOX_FILE": str(tmp_path / "other.jsonl")}))
    email = engine.transports.channels["email"]
    assert (email.host, email.port, email.from_address, email.security) == ("mail", 1025, "noreply@corp.cn", "none")
    assert "webhook" not in engine.transports.channels


def _cli(database, env: dict[str, str]):
    url = database.engine.url.render_as_string(hide_password=False)
    return CliRunner().invoke(main, ["--database-url", url, "init"], env=env, catch_exceptions=False)


def test_init_creates_the_administrator_from_the_environment_once(database, clock):

    result = _cli(database, {"AFTERSALES_ADMIN_PASSWORD": "First-login-2026"})
    assert result.exit_code == 0 and "administrator admin created" in result.output
    [admin] = Directory(database, clock).users()
    assert (admin.username, admin.roles) == ("admin", ("admin",))
    again = _cli(database, {"AFTERSALES_ADMIN_PASSWORD": "Another-login-2026"})
    assert again.exit_code == 0 and "administrator" not in again.output
    assert check_password_hash(Directory(database, clock).get("admin").password_hash, "First-login-2026")


def test_init_creates_demo_users_only_when_asked(database, clock):

    nobody = _cli(database, {})
    assert nobody.exit_code == 0 and "AFTERSALES_ADMIN_PASSWORD" in nobody.output
    assert Directory(database, clock).users() == []
    demo = _cli(database, {"AFTERSALES_DEMO_USERS": "1"})
    assert demo.exit_code == 0 and "Demo users created" in demo.output
    assert {"admin", "qa.wang", "sales.li"} <= {u.username for u in Directory(database, clock).users()}


def test_the_worker_polls_as_configured_and_stops_on_sigterm(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}", "AFTERSALES_WORKER_POLL": "0.5",
           "AFTERSALES_OUTBOX_FILE": str(tmp_path / "outbox.jsonl")}
    assert _aftersales("init", env=env, cwd=tmp_path).returncode == 0
    worker = subprocess.Popen([sys.executable, "-c", "import sys; from webapp.cli import main; sys.exit(main())",
                               "worker"], env=_environment(env), cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        first_line = worker.stdout.readline()
        assert "polling every 0.5 s" in first_line
        worker.send_signal(signal.SIGTERM)
        rest, _ = worker.communicate(timeout=30)
        assert worker.returncode == 0 and "timer worker stopped" in rest
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
