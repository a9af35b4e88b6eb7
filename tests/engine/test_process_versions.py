"""The process owners' read side: versions with who deployed them and the cases running on each, a
version's file as deployed, and open incidents with their case."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from engine.handler_api import HandlerContext, HandlerRegistry
from engine.modelling.process_versions import list_process_versions, version_file
from engine.records import queries

DIAGRAM = (Path(__file__).parent / "diagrams" / "simple_review.bpmn").read_bytes()


@pytest.fixture
def erp_down():
    return {"down": False}


@pytest.fixture
def engine(make_engine, erp_down):
    registry = HandlerRegistry()

    @registry.handler("test.prepare")
    def prepare(ctx: HandlerContext):
        if erp_down["down"]:
            raise RuntimeError("the ERP is not answering")
        ctx.assign_business_key(f"SR-{ctx.instance_id:03d}")
        return {}

    registry.handler("test.escalate")(lambda ctx: {})
    registry.handler("test.finish")(lambda ctx: {})
    return make_engine(registry)


def start(engine) -> int:
    return engine.start_instance("simple_review", {"customer": "华东机电", "amount": 5}, "sales.li")


def test_versions_newest_first_with_deployer_time_and_running_cases(engine, clock):
    assert list_process_versions(engine.db) == [] and version_file(engine.db, "simple_review") is None
    engine.deploy(DIAGRAM, "owner.xu", "simple_review.bpmn")
    start(engine)
    finished = start(engine)
    engine.cancel_instance(finished, "admin", "test")
    clock.advance(timedelta(days=1))
    second = DIAGRAM.replace(b"<bpmn:timeDuration>PT2H<", b"<bpmn:timeDuration>PT3H<")
    engine.deploy(second, "admin", "simple_review.bpmn")
    start(engine)
    start(engine)
    [process] = list_process_versions(engine.db)
    assert process.process_key == "simple_review" and process.name == "简单评审"
    assert [(v.version, v.deployed_by, v.running) for v in process.versions] == [(2, "admin", 2), (1, "owner.xu", 1)]
    assert process.latest.deployed_at == clock.now() and process.running == 3
    assert len(process.latest.content_hash) == 64
    assert version_file(engine.db, "simple_review", 1).bpmn == DIAGRAM
    latest = version_file(engine.db, "simple_review")
    assert (latest.version, latest.bpmn, latest.filename) == (2, second, "simple_review_v2.bpmn")
    assert version_file(engine.db, "simple_review", 3) is None


def test_open_incidents_name_their_case(engine, erp_down):
    engine.deploy(DIAGRAM, "owner.xu")
    erp_down["down"] = True
    instance_id = start(engine)
    [incident] = queries.list_incidents(engine.db)
    assert (incident.instance_id, incident.process_key, incident.element_id, incident.topic, incident.attempts) == \
        (instance_id, "simple_review", "Task_prepare", "test.prepare", 1)
    assert "ERP is not answering" in incident.error and incident.next_retry_at is not None
    erp_down["down"] = False
    engine.retry_incident(incident.id, "owner.xu")
    assert queries.list_incidents(engine.db) == []
    [resolved] = queries.list_incidents(engine.db, status="resolved")
    assert resolved.business_key == f"SR-{instance_id:03d}"
