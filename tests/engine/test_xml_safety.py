"""Untrusted diagram files: entity tricks (XXE, billion laughs, external DTDs, parameter entities), XInclude,
lying encodings and oversized files are refused at deploy with a plain message, and nothing is stored.
(The web pages answer 413 before reading an oversized body: tests/webapp/test_modeler.py and
tests/webapp/test_api_processes.py.)"""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.diagrams.catalog import MAX_DIAGRAM_BYTES, DiagramError
from tests.engine.deploy_checks import deploying_engine, stored

HERE = Path(__file__).parent
DIAGRAM = (HERE / "diagrams" / "simple_review.bpmn").read_bytes()
HOSTILE = HERE / "hostile" / "xml"

REFUSALS = {  # file in tests/engine/hostile/xml: what the refusal says
    "xxe_local_file.bpmn": "DOCTYPE / entity declarations are not allowed",
    "xxe_network.bpmn": "DOCTYPE / entity declarations are not allowed",
    "billion_laughs.bpmn": "DOCTYPE / entity declarations are not allowed",
    "external_dtd.bpmn": "DOCTYPE / entity declarations are not allowed",
    "parameter_entity.bpmn": "DOCTYPE / entity declarations are not allowed",
    "utf16_xxe.bpmn": "DOCTYPE / entity declarations are not allowed",
    "xinclude.bpmn": "XInclude (xi:include) is not allowed",
    "gbk_claiming_utf8.bpmn": "not valid UTF-8, the encoding it declares (line 4, byte 0xBC); save it as UTF-8",
}


@pytest.fixture
def engine(database, clock):
    """Deploying does not depend on how workflows are kept: one engine (not the warm/reloaded pair)."""
    return deploying_engine(database, clock)


def test_the_corpus_is_complete():
    assert sorted(p.name for p in HOSTILE.glob("*.bpmn")) == sorted(REFUSALS)


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_a_hostile_file_is_refused_with_a_plain_message_and_nothing_stored(engine, name):
    with pytest.raises(DiagramError) as err:
        engine.deploy((HOSTILE / name).read_bytes(), "owner")
    assert REFUSALS[name] in str(err.value)
    assert "root:" not in str(err.value)  # nothing of /etc/passwd
    assert stored(engine) == (0, 0)


def padded_to(size: int) -> bytes:
    """The valid diagram grown to exactly `size` bytes with a comment."""
    filler = size - len(DIAGRAM) - len(b"<!---->")
    return DIAGRAM + b"<!--" + b"x" * filler + b"-->"


def test_a_file_over_the_limit_is_refused_and_one_at_the_limit_deploys(engine):
    with pytest.raises(DiagramError) as err:
        engine.deploy(padded_to(MAX_DIAGRAM_BYTES + 1), "owner")
    assert "larger than 5 MB" in str(err.value) and f"{MAX_DIAGRAM_BYTES + 1:,} bytes" in str(err.value)
    assert stored(engine) == (0, 0)
    assert engine.deploy(padded_to(MAX_DIAGRAM_BYTES), "owner").version == 1


def test_a_diagram_in_another_declared_encoding_is_read_in_it(engine):
    """UTF-16 with its byte-order mark is not an attack: the checks read it as what it declares."""
    declaration, body = DIAGRAM.split(b"\n", 1)
    utf16 = (declaration.replace(b"UTF-8", b"UTF-16") + b"\n" + body).decode().encode("utf-16")
    assert engine.deploy(utf16, "owner").version == 1


@pytest.mark.parametrize(("raw", "problem"), [
    (b"\x00<\x00?\x00x\x00m\x00l", "without a byte-order mark; save it as UTF-8"),
    (DIAGRAM.replace(b'encoding="UTF-8"', b'encoding="klingon-8"'), "unknown encoding 'klingon-8'"),
])
def test_an_unreadable_encoding_is_named(engine, raw, problem):
    with pytest.raises(DiagramError, match=problem):
        engine.deploy(raw, "owner")
    assert stored(engine) == (0, 0)
