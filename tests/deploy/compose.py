"""Reading docker-compose.yml and .env.example as `docker compose` does, for tests that check the
deployment without a Docker engine: the services, and their environment with ${...} substituted."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
APP_SERVICES = ("init", "web", "worker")

# ${NAME}, ${NAME:-default}, ${NAME:?error}: the forms docker-compose.yml uses.
_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


class MissingVariable(ValueError):
    """A ${NAME:?message} variable is unset or empty: `docker compose` refuses to start with the message."""


def compose() -> dict[str, Any]:
    """docker-compose.yml as data (YAML anchors and `<<` merges resolved)."""
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def dotenv(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """KEY=VALUE lines of a .env file (comments and blank lines skipped)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    """`text` with every ${...} replaced from `env` as docker compose replaces it."""
    def value(match: re.Match) -> str:
        given = env.get(match["name"])
        if match["op"] == ":-":
            return given or match["arg"]
        if match["op"] == ":?" and not given:
            raise MissingVariable(f"{match['name']}: {match['arg']}")
        return given or ""
    return _REFERENCE.sub(value, text)


def service_environment(service: str, env: dict[str, str]) -> dict[str, str]:
    """The environment a container of `service` gets, with ${...} taken from `env` (a .env file)."""
    declared = compose()["services"][service].get("environment") or {}
    return {name: interpolate(str(value), env) for name, value in declared.items()}


def service_command(service: str) -> list[str]:
    command = compose()["services"][service]["command"]
    assert isinstance(command, list), f"{service}: write the command as a list (exec form, no shell)"
    return [str(part) for part in command]
