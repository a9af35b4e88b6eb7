"""Copying .env.example, as the README says, never runs production with its publicly known secrets: every
process refuses the placeholder secret key and administrator password, and any key shorter than 32 bytes,
saying how to make one; `aftersales serve` on a fresh machine still starts without any configuration."""
from __future__ import annotations

import re
import secrets

import pytest
from click.testing import CliRunner

from engine.settings import Settings, SettingsError
from tests.deploy.compose import dotenv, service_environment
from webapp import cli
from webapp.cli import main

MAKE_ONE = 'python3 -c "import secrets; print(secrets.token_hex(32))"'
OWN_PASSWORD = "Deploy-check-2026"


def example_env(**replaced: str) -> dict[str, str]:
    """What the web app's container gets from a .env copied from .env.example (with `replaced` changed)."""
    return service_environment("web", {**dotenv(), **replaced})


def test_the_example_secret_key_is_refused_with_how_to_make_one():
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(example_env(AFTERSALES_ADMIN_PASSWORD=OWN_PASSWORD))
    assert "AFTERSALES_SECRET_KEY" in str(refused.value) and MAKE_ONE in str(refused.value)


def test_the_example_admin_password_is_refused_though_it_meets_the_policy():
    with pytest.raises(SettingsError, match="AFTERSALES_ADMIN_PASSWORD is still the example"):
        Settings.from_env(example_env(AFTERSALES_SECRET_KEY=secrets.token_hex(32)))
    assert Settings.from_env(example_env(AFTERSALES_SECRET_KEY=secrets.token_hex(32),
                                         AFTERSALES_ADMIN_PASSWORD=OWN_PASSWORD)).admin_password == OWN_PASSWORD


@pytest.mark.parametrize("key", ["x" * 31, "short-secret", "长" * 10])  # 31, 12 and 30 bytes
def test_a_secret_key_shorter_than_32_bytes_is_refused(key):
    with pytest.raises(SettingsError, match=r"at least 32 bytes long, not \d+; make a random one with: "
                                            + re.escape(MAKE_ONE)):
        Settings.from_env({"AFTERSALES_SECRET_KEY": key})
    with pytest.raises(SettingsError):
        Settings(secret_key=key)  # however the settings are made
    assert Settings.from_env({"AFTERSALES_SECRET_KEY": "长" * 11}).secret_key == "长" * 11  # 33 bytes


def test_aftersales_init_stops_on_the_placeholders(monkeypatch, database):
    for name, value in example_env().items():
        if name != "DATABASE_URL":
            monkeypatch.setenv(name, value)
    url = database.engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(main, ["--database-url", url, "init"])
    assert result.exit_code == 2
    assert "configuration error: AFTERSALES_SECRET_KEY" in result.output and MAKE_ONE in result.output
    monkeypatch.setenv("AFTERSALES_SECRET_KEY", secrets.token_hex(32))
    result = CliRunner().invoke(main, ["--database-url", url, "init"])
    assert result.exit_code == 2 and "AFTERSALES_ADMIN_PASSWORD is still the example" in result.output


def test_the_web_app_under_gunicorn_stops_on_the_placeholders(monkeypatch, database):
    from webapp import create_app

    for name, value in example_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", database.engine.url.render_as_string(hide_password=False))
    with pytest.raises(SettingsError, match="AFTERSALES_SECRET_KEY is still the placeholder"):
        create_app()  # what gunicorn's 'webapp:create_app()' calls


def test_serve_still_starts_on_a_fresh_machine_without_configuration(monkeypatch, tmp_path):
    import waitress

    for name in [n for n in list(__import__("os").environ) if n.startswith("AFTERSALES_") or n == "DATABASE_URL"]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "run_worker", lambda *args: None)
    served = {}
    monkeypatch.setattr(waitress, "serve", lambda app, **options: served.update(app=app, **options))
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(tmp_path / "instance"))
    result = CliRunner().invoke(main, ["serve"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "demo-2026" in result.output and "Open http://127.0.0.1:8000/" in result.output
    key = served["app"].config["SECRET_KEY"]
    assert re.fullmatch(r"[0-9a-f]{64}", key) and (tmp_path / "instance" / "secret_key").read_text() == key
    served["app"].extensions["aftersales.engine"].db.dispose()
