"""schemathesis against the OpenAPI document, in process: generated requests to every operation with an
admin's token (who may call all of them) never make the server fail.

Hypothesis runs each operation's strategy directly (schemathesis' lazy pytest loader does not work with
this pytest version); derandomized, so every run sends the same requests."""
from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from engine.accounts import api_tokens
from engine.records import queries
from tests.webapp.conftest import FEEDBACK_FORM

EXAMPLES_PER_OPERATION = 15


@pytest.mark.parametrize("mode, real_ids", [(GenerationMode.POSITIVE, False), (GenerationMode.NEGATIVE, False),
                                             (GenerationMode.POSITIVE, True)],
                         ids=["valid", "invalid", "valid-on-real-case"])
def test_no_generated_request_makes_the_server_fail(app, engine, mode, real_ids):
    """Random ids mostly miss; the last run fixes the path to a real process, version, case and task so that
    generated bodies reach the form checks, claims and completions."""
    case = engine.start_instance("quality_feedback", dict(FEEDBACK_FORM), "sales.li")  # cases and tasks to find
    task = next(t for t in queries.list_tasks(engine.db, instance_id=case) if t.department == "quality")
    known = {"process_key": "quality_feedback", "version": 1, "instance_id": case, "task_id": task.id}
    token = api_tokens.issue(engine.db, engine.clock, "admin", "schemathesis", "admin").token
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 14

    seen: Counter = Counter()
    for operation in operations:
        path = {name: value for name, value in known.items() if real_ids and f"{{{name}}}" in operation.path}
        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path or None))
        @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def no_server_error(case):
            response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                                              checks=[not_a_server_error])
            seen[(case.operation.label, response.status_code)] += 1

        no_server_error()
    assert {label for label, _ in seen} == {operation.label for operation in operations}
    if real_ids:  # the generated requests got through to the real case, not only to 404s
        assert seen[("GET /api/v1/tasks/{task_id}", 200)] and seen[("GET /api/v1/instances/{instance_id}", 200)]
