"""The layering rules of DESIGN.md, checked on every run."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
from lxml import etree

from engine.diagrams.catalog import CAMUNDA_NS
from handlers import build_registry

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is part of the test dependencies"
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout and "KEPT" in result.stdout


def test_no_module_of_the_application_imports_itself_round_a_circle():
    """No import circle anywhere in engine/, handlers/ and webapp/, also between a package and its own
    modules (which the sibling contract of pyproject.toml does not see)."""
    graph = grimp.build_graph("engine", "handlers", "webapp")
    ours = {m for m in graph.modules if m.split(".")[0] in ("engine", "handlers", "webapp")}
    circles = sorted((importer, imported) for importer in ours
                     for imported in graph.find_modules_directly_imported_by(importer) & ours
                     if graph.chain_exists(importer=imported, imported=importer))
    assert circles == []


def test_every_topic_has_a_handler_and_every_handler_is_used():
    used = set()
    for path in (ROOT / "processes").glob("*.bpmn"):
        root = etree.parse(str(path)).getroot()
        used |= {n.get(f"{{{CAMUNDA_NS}}}topic") for n in root.iter() if n.get(f"{{{CAMUNDA_NS}}}topic")}
    registered = build_registry().topics()
    assert used, "processes/ holds diagrams with service tasks"
    assert used - registered == set(), "topics without a handler"
    assert registered - used == set(), "handlers no diagram uses"
