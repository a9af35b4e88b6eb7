"""Hostile diagrams against a running `aftersales serve` under `ulimit -v 2500000` (issue 17's "done when").

Starts the embedded server in a temporary folder with its address space limited to 2.5 GB, signs in as
the administrator (deploys, starts cases) and as Quality's 王强 (completes the review), and for each probe
deploys a diagram whose gateway condition or script is hostile, starts a case and completes its review.
While each probe runs, another user keeps opening the inbox; the script reports the slowest answer, the
server's memory (its own and its sandbox processes') after every probe, and whether it is still alive.

    .venv/bin/python bench/hostile_serve.py [--port 8765]
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.engine.hostile.diagrams import with_gateway, with_timer  # noqa: E402

TIMER_PROBES = [  # (timer value, kind, amount on the start form)
    ("P99999999Y", "timeDuration", "3"),
    ("R/PT0S", "timeCycle", "3"),
    ("R/PT0.001S", "timeCycle", "3"),
    ("f'P{amount}Y'", "timeDuration", "99999999"),
    ("f'R/PT{amount - 3}S'", "timeCycle", "3"),
    ("PT2H", "timeDuration", "1" + "0" * 30),  # a quantity of 10^30 on the start form
]
PROBES = [
    "len((1).to_bytes(10**9,'big')) > 0",
    "len(('a'*1000000).replace('a','a'*1000)) > 0",
    "(s := 'ab') and len([s := s + s for i in range(64)])",
    "sum(1 for i in range(100000) for j in range(100000)) > 0",
    "9**9**9 > 0",
    "len('a'*10**9) > 0",
    "'%999999999d' % 1",
    "amount > 'x'",
    "amount / 0 > 1",
]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def runnable(condition: str, xml: bytes | None = None) -> bytes:
    """The test diagram with its service tasks as scripts (the real app has no test handlers)."""
    xml = (xml or with_gateway(condition)).decode()
    xml = re.sub(r'<bpmn:serviceTask id="(\w+)" name="([^"]*)" camunda:type="external" camunda:topic="[\w.]+">',
                 r'<bpmn:scriptTask id="\1" name="\2" scriptFormat="python">', xml)
    xml = xml.replace("</bpmn:serviceTask>", "<bpmn:script>done = True</bpmn:script></bpmn:scriptTask>")
    return xml.encode()


class Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.token = ""

    def get(self, path: str) -> tuple[int, str]:
        try:
            with self.opener.open(self.base + path, timeout=60) as response:
                text = response.read().decode()
                status = response.status
        except urllib.error.HTTPError as err:
            text, status = err.read().decode(), err.code
        match = CSRF.search(text)
        if match:
            self.token = match.group(1)
        return status, text

    def post(self, path: str, form: dict | None = None, body: bytes | None = None) -> tuple[int, str]:
        data = body if body is not None else urllib.parse.urlencode({**(form or {}), "csrf_token": self.token}).encode()
        kind = "application/xml" if body is not None else "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.base + path, data=data, method="POST",
                                         headers={"X-CSRFToken": self.token, "Content-Type": kind})
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def login(self, username: str) -> None:
        self.get("/login")
        self.post("/login", {"username": username, "password": "demo-2026"})
        self.get("/inbox")


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024
    except (OSError, StopIteration):
        return 0.0


def sandbox_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-f", "engine.diagrams.expression_worker"], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8765)
    port = parser.parse_args().port
    folder = tempfile.mkdtemp(prefix="hostile-serve-")
    limit = 2_500_000 * 1024

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    server = subprocess.Popen([str(ROOT / ".venv/bin/aftersales"), "serve", "--port", str(port)], cwd=folder,
                              preexec_fn=limited, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(base + "/login", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    db = sqlite3.connect(Path(folder) / "aftersales.db")
    admin, quality, other = Browser(base), Browser(base), Browser(base)
    admin.login("admin")
    quality.login("qa.wang")
    other.login("sales.li")
    print(f"server pid {server.pid}, RSS after start {rss_mb(server.pid):.0f} MB")
    print("| probe | HTTP | incident | slowest other answer (s) | server RSS (MB) | sandboxes RSS (MB) |")
    print("|---|---|---|---|---|---|")
    for condition in PROBES:
        status, text = admin.post("/modeler/deploy", body=runnable(condition))
        if status != 200:
            print(f"| `{condition}` | deploy {status} | {text[:80]} | | | |")
            continue
        admin.get("/new/simple_review")
        admin.post("/new/simple_review", {"customer": "甲", "amount": "3"})
        task_id = db.execute("select id from human_tasks where state='open' and element_id='Task_review' "
                             "order by id desc limit 1").fetchone()[0]
        slowest, done = [0.0], threading.Event()

        def keep_asking(done: threading.Event = done, slowest: list[float] = slowest) -> None:
            while not done.is_set():
                started = time.monotonic()
                other.get("/inbox")
                slowest[0] = max(slowest[0], time.monotonic() - started)

        asker = threading.Thread(target=keep_asking)
        asker.start()
        quality.get(f"/tasks/{task_id}")
        status, _ = quality.post(f"/tasks/{task_id}/complete", {"decision": "approve"})
        done.set()
        asker.join()
        incident = db.execute("select reason from incidents order by id desc limit 1").fetchone()
        kind = re.search(r'"kind": ?"(\w+)"', incident[0] or "").group(1) if incident else "-"
        sandboxes = sum(rss_mb(pid) for pid in sandbox_pids())
        print(f"| `{condition}` | {status} | {kind} | {slowest[0]:.2f} | {rss_mb(server.pid):.0f} | {sandboxes:.0f} |")
    for value, kind, amount in TIMER_PROBES:
        status, text = admin.post("/modeler/deploy", body=runnable("", with_timer(value, kind)))
        if status != 200:
            try:
                message = json.loads(text).get("message", "")
            except ValueError:
                message = text[:60]
            print(f"| timer `{value}` | deploy {status} | {message} | | "
                  f"{rss_mb(server.pid):.0f} | |")
            continue
        admin.get("/new/simple_review")
        started = time.monotonic()
        status, text = admin.post("/new/simple_review", {"customer": "甲", "amount": amount})
        seconds = time.monotonic() - started
        incident = db.execute("select reason from incidents order by id desc limit 1").fetchone()
        kind_seen = re.search(r'"kind": ?"(\w+)"', (incident or [""])[0] or "")
        refused = "amount" in text and status == 422
        print(f"| timer `{value}`, amount {amount[:8]}{'…' if len(amount) > 8 else ''} | start {status} in "
              f"{seconds:.2f} s | {'form refused' if refused else (kind_seen.group(1) if kind_seen else '-')} | | "
              f"{rss_mb(server.pid):.0f} | |")
    alive = server.poll() is None
    print(f"server alive: {alive}; RSS at the end {rss_mb(server.pid):.0f} MB")
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    os.system(f"rm -rf {folder}")


if __name__ == "__main__":
    main()
