"""The layering rules of DESIGN.md, checked on every run."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from lxml import etree

from engine.catalog import CAMUNDA_NS
from handlers import build_registry

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is part of the test dependencies"
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout and "KEPT" in result.stdout


def test_every_topic_has_a_handler_and_every_handler_is_used():
    used = set()
    for path in (ROOT / "processes").glob("*.bpmn"):
        root = etree.parse(str(path)).getroot()
        used |= {n.get(f"{{{CAMUNDA_NS}}}topic") for n in root.iter() if n.get(f"{{{CAMUNDA_NS}}}topic")}
    registered = build_registry().topics()
    assert used, "processes/ holds diagrams with service tasks"
    assert used - registered == set(), "topics without a handler"
    assert registered - used == set(), "handlers no diagram uses"
