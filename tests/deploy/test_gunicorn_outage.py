"""gunicorn serving `webapp:create_app()` survives a database outage during a worker restart (issue 18): the
worker that replaces a killed one boots while the database is away (it used to exit with code 3, and
gunicorn's master then stopped the whole app), the app answers 503 meanwhile and 200 once the database is
back, with nobody restarting anything. The outage is real (tests/database_outage.py)."""
from __future__ import annotations

import os
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

from tests.deploy.compose import ROOT
from tests.deploy.test_services_outside_docker import _executable, _free_port, _wait_for

UNAVAILABLE_ZH = "数据库暂时不可用，请稍后重试。"


def _status(base: str) -> tuple[int | None, str]:
    """The status and page of GET /login; None while nothing answers."""
    try:
        with urllib.request.urlopen(base + "/login", timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()
    except (urllib.error.URLError, ConnectionError, OSError):
        return None, ""


def _workers(master: int) -> set[int]:
    """The pids of the gunicorn master's worker processes (read from /proc)."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            children.add(int(stat.parent.name))
    return children


def test_a_worker_restarted_during_an_outage_boots_and_the_app_serves_again_by_itself(outage, tmp_path):
    port, log = _free_port(), tmp_path / "gunicorn.log"
    clean = {k: v for k, v in os.environ.items() if not (k.startswith("AFTERSALES_") or k == "DATABASE_URL")}
    environment = {**clean, "PYTHONPATH": str(ROOT), "DATABASE_URL": outage.app_url,
                   "AFTERSALES_SECRET_KEY": "outage-check-" + "k" * 32,
                   "AFTERSALES_INSTANCE_PATH": str(tmp_path / "instance")}
    command = _executable(["gunicorn", "--workers", "1", "--threads", "2", "--bind", f"127.0.0.1:{port}",
                           "webapp:create_app()"])
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        master = subprocess.Popen(command, env=environment, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for("the app serving", lambda: _status(base)[0] == 200, [master], [log])
        [worker] = _workers(master.pid)

        outage.begin()
        os.kill(worker, signal.SIGKILL)  # the worker restarts while the database is away
        _wait_for("a new worker answering 503", lambda: _status(base)[0] == 503 and worker not in _workers(master.pid),
                  [master], [log])
        assert UNAVAILABLE_ZH in _status(base)[1]
        assert master.poll() is None, log.read_text()

        outage.end()
        _wait_for("the app serving again", lambda: _status(base)[0] == 200, [master], [log])
        assert "Worker failed to boot" not in log.read_text()
    finally:
        master.send_signal(signal.SIGTERM)
        try:
            assert master.wait(timeout=60) == 0, log.read_text()
        finally:
            if master.poll() is None:
                master.kill()
                master.wait()
