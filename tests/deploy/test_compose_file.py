"""docker-compose.yml and the Dockerfile as an operator relies on them: the services are there, they run
the image built here, and every variable they set is one the system reads (no silently ignored typo)."""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
from jsonschema import Draft201909Validator

from engine.settings import Settings
from tests.deploy.compose import (
    APP_SERVICES,
    COMPOSE_FILE,
    ROOT,
    MissingVariable,
    compose,
    dotenv,
    service_command,
    service_environment,
)


def test_the_compose_file_has_the_database_the_app_the_workers_and_the_mail_catcher():
    services = compose()["services"]
    assert set(services) == {"db", "init", "web", "worker", "mail"}

    db = services["db"]
    assert db["image"] == "postgres:15" and "pg_isready" in " ".join(db["healthcheck"]["test"])
    [volume] = db["volumes"]
    assert volume.split(":")[0] in compose()["volumes"]  # a named volume: the data outlives the container

    assert service_command("init") == ["aftersales", "init"]
    assert service_command("worker") == ["aftersales", "worker"]
    assert services["worker"]["deploy"]["replicas"] == 2
    for service in ("web", "worker"):
        assert services[service]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert services["init"]["depends_on"]["db"]["condition"] == "service_healthy"

    mail = services["mail"]
    assert mail["image"].startswith("axllent/mailpit") and "8025:8025" in mail["ports"]


def test_the_web_service_runs_the_app_factory_under_gunicorn_on_port_8000():
    command = service_command("web")
    assert command[0] == "gunicorn" and command[-1] == "webapp:create_app()"
    assert command[command.index("--bind") + 1] == "0.0.0.0:8000"
    assert int(command[command.index("--workers") + 1]) >= 2 and int(command[command.index("--threads") + 1]) >= 2
    assert "8000:8000" in compose()["services"]["web"]["ports"]


def test_every_variable_the_services_set_is_one_the_settings_read():
    readable = set(Settings.variables())
    for service in APP_SERVICES:
        declared = set(compose()["services"][service]["environment"])
        assert declared - readable == set(), f"{service} sets variables nothing reads"
        assert readable - declared == set(), f"{service} leaves variables out of the shared block"


def test_the_example_env_file_gives_settings_every_process_accepts():
    """Once its two placeholders are replaced (every process refuses them: tests/engine/hostile/test_secrets.py)."""
    example = {**dotenv(), "AFTERSALES_SECRET_KEY": secrets.token_hex(32), "AFTERSALES_ADMIN_PASSWORD": "Deploy-check-2026"}
    assert set(example) - set(Settings.variables()) == {"POSTGRES_PASSWORD"}
    for service in APP_SERVICES:
        settings = Settings.from_env(service_environment(service, example))
        assert settings.database_url.startswith("postgresql+psycopg://aftersales:")
        assert settings.database_url.endswith("@db:5432/aftersales")
        assert (settings.smtp.host, settings.smtp.port) == ("mail", 1025)
        assert settings.secret_key == example["AFTERSALES_SECRET_KEY"]
        assert settings.admin_password == example["AFTERSALES_ADMIN_PASSWORD"]


def test_compose_refuses_to_start_without_a_secret_key():
    example = dotenv()
    del example["AFTERSALES_SECRET_KEY"]
    with pytest.raises(MissingVariable, match="AFTERSALES_SECRET_KEY"):
        service_environment("web", example)


def test_the_app_services_run_the_image_built_from_the_dockerfile():
    services = compose()["services"]
    images = set()
    for service in APP_SERVICES:
        build = services[service]["build"]
        assert (ROOT / build["context"] / build["dockerfile"]).resolve() == ROOT / "Dockerfile"
        images.add(services[service]["image"])
    assert len(images) == 1

    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    assert 'pip install ".[postgres]"' in dockerfile
    assert re.search(r"^EXPOSE 8000$", dockerfile, re.M)
    [user] = re.findall(r"^USER (\S+)$", dockerfile, re.M)
    assert user not in ("root", "0")
    # Outside site-packages: the diagrams init deploys are where AFTERSALES_PROCESSES points.
    assert "COPY processes processes" in dockerfile
    assert compose()["services"]["init"]["environment"]["AFTERSALES_PROCESSES"] == "/app/processes"
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", ".venv", ".env", "tests"} <= set(ignored)


def test_the_file_follows_the_compose_specification():
    """Checked against the Compose Specification's JSON schema (tests/deploy/compose_spec.json, as shipped
    with docker-compose 1.29.2, Apache-2.0), so a misspelt key or a wrong shape fails here, where no Docker
    engine runs."""
    schema = json.loads((Path(__file__).parent / "compose_spec.json").read_text(encoding="utf-8"))
    errors = sorted(Draft201909Validator(schema).iter_errors(compose()), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors)


def _compose_command() -> list[str] | None:
    """`docker compose` (v2) or `docker-compose` (v1.29) when one runs here."""
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_docker_compose_accepts_the_file():
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed here")
    env = {**os.environ, **dotenv()}
    result = subprocess.run([*command, "-f", str(COMPOSE_FILE), "--env-file", str(ROOT / ".env.example"),
                             "config", "-q"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr
