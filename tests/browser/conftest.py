"""A live server on localhost (waitress in a thread, real database, frozen clock) and headless Debian
Chromium driven by Playwright. Screenshots go to test-artifacts/browser/."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import waitress

from engine.notifications.outbox import FileTransport
from engine.runtime.workflow_engine import WorkflowEngine
from handlers import build_registry
from tests.conftest import PROCESSES
from webapp import create_app
from webapp.demo import seed_demo_users

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("AFTERSALES_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture
def live_server(database, clock, outbox_file, tmp_path) -> Iterator[str]:
    engine = WorkflowEngine(database, build_registry(), clock=clock, transport=FileTransport(outbox_file))
    engine.deploy_directory(PROCESSES, "test")
    app = create_app(engine, {"SECRET_KEY": "browser-test"})
    seed_demo_users(app.extensions["aftersales.directory"])
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=5)


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run tests/browser/install-chromium.sh (the README's test command does)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def screenshot(request):
    folder = ARTIFACTS / "browser"
    folder.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = folder / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return take
