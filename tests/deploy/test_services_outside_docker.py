"""The compose services' own commands and environment, started as plain processes against PostgreSQL
(no Docker engine runs on the build machines): init deploys the processes and creates the administrator,
gunicorn serves the app, a timer worker delivers the e-mail of a case started over HTTP."""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from engine.storage.models import ProcessVersion
from tests.deploy.compose import ROOT, dotenv, service_command, service_environment
from tests.engine.smtp_catcher import SmtpCatcher

READY_TIMEOUT = 90  # seconds a process may take to start on a loaded build machine
ADMIN_PASSWORD = "Deploy-check-2026"
FORM = {
    "customer": "华东机电有限公司", "product_name": "减速电机", "spec_model": "JZ-200", "batch_no": "B1",
    "quantity_shipped": 100, "quantity_nonconforming": 30, "characteristic": "key", "consequence": "claim",
    "problem_description": "异响",
}


def _postgres_url() -> str:
    """The PostgreSQL database of this test run: DATABASE_URL when it is PostgreSQL, else `test` (free
    while the suite runs on SQLite)."""
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgresql") else "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_reachable(url: str) -> bool:
    try:
        engine = create_engine(url)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _empty_database(url: str) -> None:
    """A database as `docker compose up` finds it the first time: no tables at all."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _executable(command: list[str]) -> list[str]:
    """The command with its program taken from this Python's environment (where `aftersales` and
    gunicorn are installed), as the image has them on its PATH."""
    program = Path(sys.executable).parent / command[0]
    return [str(program) if program.exists() else shutil.which(command[0]) or command[0], *command[1:]]


def _wait_for(what: str, check, processes: list[subprocess.Popen], logs: list[Path]) -> None:
    """Wait (up to READY_TIMEOUT) until `check()` is true; fail with the logs when a process died."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if check():
            return
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"{process.args[0]} exited with {process.returncode} while waiting for {what}:\n"
                            + "\n".join(log.read_text(errors="replace")[-3000:] for log in logs))
        time.sleep(0.2)
    pytest.fail(f"no {what} within {READY_TIMEOUT} s:\n" + "\n".join(log.read_text(errors="replace")[-3000:]
                                                                      for log in logs))


class Browser:
    """A user's HTTP client: keeps the session cookie, reads the CSRF token of each form page."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> tuple[int, str, str]:
        with self.opener.open(self.base + path, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode()

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[int, str, str]:
        _, _, page = self.get(path)
        [csrf] = re.findall(r'name="csrf_token" value="([^"]+)"', page)[:1]
        body = urllib.parse.urlencode({**fields, "csrf_token": csrf}).encode()
        with self.opener.open(self.base + path, data=body, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode()


def _serving(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/login", timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


def test_the_compose_services_run_outside_docker_against_postgresql(tmp_path):
    url = _postgres_url()
    if not _postgres_reachable(url):
        pytest.skip(f"PostgreSQL is not reachable at {url}")
    _empty_database(url)
    catcher = SmtpCatcher().start()
    port = _free_port()
    # .env as the README says to make it: the placeholders replaced by a generated key and a real password.
    example = {**dotenv(), "AFTERSALES_ADMIN_PASSWORD": ADMIN_PASSWORD, "AFTERSALES_SECRET_KEY": secrets.token_hex(32)}
    processes: list[subprocess.Popen] = []
    try:
        def environment(service: str) -> dict[str, str]:
            """The service's environment from docker-compose.yml with the hosts of this machine."""
            settings = service_environment(service, example)
            assert settings["DATABASE_URL"].split("@")[1].startswith("db:")
            assert settings["AFTERSALES_SMTP_HOST"] == "mail"
            settings.update(DATABASE_URL=url, AFTERSALES_SMTP_HOST=catcher.host,
                            AFTERSALES_SMTP_PORT=str(catcher.port), AFTERSALES_PROCESSES=str(ROOT / "processes"),
                            AFTERSALES_INSTANCE_PATH=str(tmp_path / "instance"))
            clean = {k: v for k, v in os.environ.items() if not (k.startswith("AFTERSALES_") or k == "DATABASE_URL")}
            return {**clean, "PYTHONPATH": str(ROOT), **settings}

        # init: the schema, every diagram deployed, the administrator from AFTERSALES_ADMIN_PASSWORD.
        init = subprocess.run(_executable(service_command("init")), env=environment("init"), cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert init.returncode == 0, init.stderr
        assert "administrator admin created" in init.stdout
        database = create_engine(url)
        with database.connect() as connection:
            deployed = {row.process_key for row in connection.execute(select(ProcessVersion.process_key))}
        database.dispose()
        assert {path.stem for path in (ROOT / "processes").glob("*.bpmn")} <= deployed

        # A colleague of the quality department with an e-mail address, added as the README says.
        added = subprocess.run(_executable(["aftersales", "user", "add", "qa.wang", "--name", "王强", "--department",
                                            "quality", "--email", "qa.wang@example.com", "--password",
                                            "Quality-check-2026"]),
                               env=environment("init"), cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert added.returncode == 0, added.stderr

        web_command = service_command("web")
        web_command[web_command.index("--bind") + 1] = f"127.0.0.1:{port}"
        web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
        with web_log.open("w") as web_out, worker_log.open("w") as worker_out:
            processes.append(subprocess.Popen(_executable(web_command), env=environment("web"), cwd=tmp_path,
                                              stdout=web_out, stderr=subprocess.STDOUT))
            processes.append(subprocess.Popen(_executable(service_command("worker")), env=environment("worker"),
                                              cwd=tmp_path, stdout=worker_out, stderr=subprocess.STDOUT))
        web, worker = processes
        base = f"http://127.0.0.1:{port}"
        _wait_for("web app answering", lambda: _serving(base), processes, [web_log, worker_log])

        # Sign in as the administrator init created, make an API token, start a case through the API.
        browser = Browser(base)
        status, landed, _ = browser.post_form("/login", {"username": "admin", "password": ADMIN_PASSWORD})
        assert status == 200 and "/login" not in landed
        status, _, page = browser.post_form("/account/tokens", {"name": "deploy check"})
        [token] = re.findall(r'<code id="new-token">([^<]+)</code>', page)
        request = urllib.request.Request(
            base + "/api/v1/processes/quality_feedback/instances", method="POST",
            data=json.dumps({"data": FORM}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 201
            case = json.loads(response.read())

        # The worker delivers the intake notification to the quality department over SMTP.
        _wait_for("e-mail to qa.wang", lambda: catcher.to("qa.wang@example.com"), processes, [web_log, worker_log])
        [mail] = catcher.to("qa.wang@example.com")
        assert case["business_key"] in mail["Subject"]
        assert mail["From"] == example["AFTERSALES_SMTP_FROM"]

        # Stopped as `docker compose stop` stops them: SIGTERM, then a clean exit.
        for process in processes:
            process.send_signal(signal.SIGTERM)
        assert web.wait(timeout=60) == 0, web_log.read_text()
        assert worker.wait(timeout=60) == 0, worker_log.read_text()
        assert "timer worker stopped" in worker_log.read_text()
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        catcher.stop()
