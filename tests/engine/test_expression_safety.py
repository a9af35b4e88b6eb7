"""Expressions in diagrams run in a restricted environment: a hostile condition, timer, script or
multi-instance expression is refused at deploy with the element named and nothing stored, and refused
again at run time if it ever got that far."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.clock import using_clock
from engine.diagrams.catalog import DiagramError, parse_xml
from engine.diagrams.code_failures import DiagramCodeFailed
from engine.diagrams.expression_policy import ExpressionRejected, check
from engine.runtime.workflow_engine import WorkflowEngine
from engine.spiff import ProcessRun, ServiceOutcome, compile_process
from engine.spiff.definitions import AftersalesScriptEngine
from engine.working_time.calendar import BusinessCalendar
from handlers import build_registry
from tests.engine.deploy_checks import deploying_engine, stored
from tests.engine.hostile.diagrams import escaped
from tests.engine.hostile.diagrams import with_script as in_script

HERE = Path(__file__).parent
DIAGRAM = (HERE / "diagrams" / "simple_review.bpmn").read_bytes()


def corpus(name: str) -> list[tuple[str, str]]:
    """(word the refusal names, code) pairs from tests/engine/hostile/<name>."""
    entries = []
    for line in (HERE / "hostile" / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            word, code = line.split("\t", 1)
            entries.append((word, code.replace("\\n", "\n")))
    return entries


EXPRESSIONS = corpus("expressions.txt")
SCRIPTS = corpus("scripts.txt")


def in_condition(code: str) -> bytes:
    return DIAGRAM.replace(b'<bpmn:sequenceFlow id="Flow_3" sourceRef="Task_review" targetRef="Task_finish" />',
                           b'<bpmn:sequenceFlow id="Flow_3" sourceRef="Task_review" targetRef="Task_finish">'
                           b"<bpmn:conditionExpression>" + escaped(code) + b"</bpmn:conditionExpression>"
                           b"</bpmn:sequenceFlow>")


def in_timer(code: str) -> bytes:
    return DIAGRAM.replace(b"<bpmn:timeDuration>PT2H<", b"<bpmn:timeDuration>" + escaped(code) + b"<")


def in_loop_cardinality(code: str) -> bytes:
    return DIAGRAM.replace(
        b"<bpmn:outgoing>Flow_3</bpmn:outgoing>\n    </bpmn:userTask>",
        b"<bpmn:outgoing>Flow_3</bpmn:outgoing><bpmn:multiInstanceLoopCharacteristics>"
        b"<bpmn:loopCardinality>" + escaped(code) + b"</bpmn:loopCardinality>"
        b"</bpmn:multiInstanceLoopCharacteristics>\n    </bpmn:userTask>")


def in_completion_condition(code: str) -> bytes:
    return in_loop_cardinality("3").replace(
        b"</bpmn:loopCardinality>", b"</bpmn:loopCardinality><bpmn:completionCondition>" + escaped(code)
        + b"</bpmn:completionCondition>")


def in_loop_condition(code: str) -> bytes:
    return DIAGRAM.replace(
        b"<bpmn:outgoing>Flow_3</bpmn:outgoing>\n    </bpmn:userTask>",
        b"<bpmn:outgoing>Flow_3</bpmn:outgoing><bpmn:standardLoopCharacteristics>"
        b"<bpmn:loopCondition>" + escaped(code) + b"</bpmn:loopCondition>"
        b"</bpmn:standardLoopCharacteristics>\n    </bpmn:userTask>")


def in_conditional_event(code: str) -> bytes:
    return DIAGRAM.replace(b'<bpmn:timerEventDefinition id="TimerDef_1"><bpmn:timeDuration>PT2H</bpmn:timeDuration>'
                           b"</bpmn:timerEventDefinition>",
                           b'<bpmn:conditionalEventDefinition id="Cond_1"><bpmn:condition>' + escaped(code)
                           + b"</bpmn:condition></bpmn:conditionalEventDefinition>")


def in_message_payload(code: str) -> bytes:
    return DIAGRAM.replace(b'<bpmn:endEvent id="End_escalated" name="\xe5\xb7\xb2\xe5\x8d\x87\xe7\xba\xa7">',
                           b'<bpmn:endEvent id="End_escalated" name="escalated">'
                           b'<bpmn:messageEventDefinition id="Msg_1" camunda:expression="'
                           + escaped(code).replace(b'"', b"&quot;") + b'" />')


PLACES = {  # where the hostile code goes, the element the refusal must name, what it calls the code
    "condition": (in_condition, "Flow_3", "the condition"),
    "timer": (in_timer, "Timer_review_limit", "the timer"),
    "script": (lambda code: in_script(f"result = {code}"), "Task_prepare", "the script"),
    "loop cardinality": (in_loop_cardinality, "Task_review", "the loop cardinality"),
    "completion condition": (in_completion_condition, "Task_review", "the completion condition"),
    "loop condition": (in_loop_condition, "Task_review", "the loop condition"),
    "conditional event": (in_conditional_event, "Timer_review_limit", "the condition"),
    "message payload": (in_message_payload, "End_escalated", "the message payload"),
}


@pytest.fixture
def engine(database, clock):
    """Deploying does not depend on how workflows are kept: one engine (not the warm/reloaded pair)."""
    return deploying_engine(database, clock)


def test_the_templates_deploy_with_harmless_code(engine):
    """Each placement is valid when its code is harmless: a refusal below is about the code only."""
    for place, (build, _element, _what) in PLACES.items():
        if place not in ("condition", "timer", "script"):
            continue  # not run by this engine (refused by other checks), but SpiffWorkflow would evaluate them
        engine.deploy(build("working_days(1)" if place == "timer" else "amount > 1"), "owner")
    assert stored(engine)[0] == 3


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize(("word", "code"), EXPRESSIONS, ids=[code for _word, code in EXPRESSIONS])
def test_a_hostile_expression_is_refused_at_deploy_naming_the_element(engine, place, word, code):
    build, element_id, what = PLACES[place]
    with pytest.raises(DiagramError) as err:
        engine.deploy(build(code), "owner")
    assert err.value.element_id == element_id
    assert err.value.problem.startswith(what) and word in err.value.problem
    assert "may not" in err.value.problem
    assert stored(engine) == (0, 0)


@pytest.mark.parametrize(("word", "script"), SCRIPTS, ids=[script for _word, script in SCRIPTS])
def test_a_hostile_script_is_refused_at_deploy_naming_the_task(engine, word, script):
    with pytest.raises(DiagramError) as err:
        engine.deploy(in_script(script), "owner")
    assert err.value.element_id == "Task_prepare"
    assert err.value.problem.startswith("the script") and word in err.value.problem
    assert stored(engine) == (0, 0)


def test_deploy_never_runs_a_hostile_timer(engine, tmp_path):
    """Timers are evaluated at deploy to check them: a hostile one must be refused before that."""
    marker = tmp_path / "pwned"
    with pytest.raises(DiagramError, match="__import__"):
        engine.deploy(in_timer(f"__import__('os').system('touch {marker}') or 'PT1H'"), "owner")
    assert not marker.exists()


@pytest.mark.parametrize("code", ["9**9**9", "'a' * 10**10", "10**10 * 'a'", "1 << 10**9", "'%999999999d' % 1",
                                  "[0] * 10**9", "len(range(10**12))"])
def test_cheap_amplification_is_refused_while_it_runs(code):
    environment = AftersalesScriptEngine(BusinessCalendar()).environment
    with pytest.raises(DiagramCodeFailed) as err:
        environment.evaluate(code, {})
    assert err.value.kind == "limit_size"


def test_reasonable_arithmetic_still_works():
    environment = AftersalesScriptEngine(BusinessCalendar()).environment
    assert environment.evaluate("2 ** 10 + 7 % 3 + len('ab' * 3) + (1 << 4)", {}) == 1024 + 1 + 6 + 16
    assert environment.evaluate("f'PT{hours * 2}H'", {"hours": 3}) == "PT6H"


# -- run time: the environment refuses even what never went through deploy -------------------------------
@pytest.mark.parametrize(("word", "code"), EXPRESSIONS, ids=[code for _word, code in EXPRESSIONS])
def test_the_environment_refuses_a_hostile_expression(word, code):
    environment = AftersalesScriptEngine(BusinessCalendar()).environment
    with pytest.raises(ExpressionRejected) as err:
        environment.evaluate(code, {"customer": "甲"})
    assert word in err.value.reason


@pytest.mark.parametrize(("word", "script"), SCRIPTS, ids=[script for _word, script in SCRIPTS])
def test_the_environment_refuses_a_hostile_script(word, script):
    environment = AftersalesScriptEngine(BusinessCalendar()).environment
    with pytest.raises(ExpressionRejected):
        environment.execute(script, {"customer": "甲"})


def test_case_data_cannot_bring_back_builtins():
    """Case data is merged into the globals an expression sees; `__builtins__` is set after it."""
    environment = AftersalesScriptEngine(BusinessCalendar()).environment
    with pytest.raises(DiagramCodeFailed) as err:
        environment.evaluate("open", {"__builtins__": {"open": open}})
    assert err.value.kind == "undefined_name"
    with pytest.raises(DiagramCodeFailed) as err:
        environment.evaluate("len(open)", {"__builtins__": {"open": open}})  # the sandbox process alike
    assert err.value.kind == "undefined_name"
    assert environment.evaluate("customer", {"customer": "__import__('os')"}) == "__import__('os')"


class _Services:
    def run(self, call):
        return ServiceOutcome(data={})

    def error_not_caught(self, call, code):
        raise AssertionError(code)

    def step_failed(self, failure):
        pass

    def step_recovered(self, task_id, element_id):
        pass


def run_undeployed(raw: bytes, data: dict) -> ProcessRun:
    """Compile a diagram without the deploy checks (as if a hostile one had slipped through) and run it."""
    run = ProcessRun.start(compile_process(parse_xml(raw), "simple_review"), data, BusinessCalendar(), _Services())
    run.advance()
    return run


def test_a_hostile_script_that_slipped_past_deploy_is_refused_when_it_runs(tmp_path):
    marker = tmp_path / "pwned"
    run = run_undeployed(in_script(f"open('{marker}', 'w').write('x')"), {"customer": "甲"})
    [failure] = run.failures()  # an incident on the script task, the case held there
    assert (failure.element_id, failure.kind) == ("Task_prepare", "not_allowed")
    assert "open" in failure.params["detail"] and "which diagrams may not call" in failure.params["detail"]
    assert not marker.exists()


def test_a_hostile_timer_that_slipped_past_deploy_is_refused_when_reached(tmp_path):
    marker = tmp_path / "pwned"
    run = run_undeployed(in_timer(f"__import__('os').system('touch {marker}') or 'PT1H'"), {"customer": "甲"})
    [failure] = run.failures()
    assert failure.kind == "not_allowed" and "__import__" in failure.params["detail"]
    assert not marker.exists()


def test_a_harmless_script_runs_with_the_whitelisted_helpers(clock):
    script = ("total = sum(x * 2 for x in [1, 2, 3])\nlabel = customer.upper() + '-' + str(len(customer))\n"
              "due = (today() + timedelta(days=3)).isoformat()\nlate = now() > datetime(2026, 1, 1, tzinfo=now().tzinfo)")
    with using_clock(clock):
        run = run_undeployed(in_script(script), {"customer": "abc"})
    [review] = run.ready_human_tasks()
    assert review.element_id == "Task_review"
    assert (review.data["total"], review.data["label"], review.data["due"], review.data["late"]) == \
        (12, "ABC-3", "2026-11-19", True)


# -- the policy itself ---------------------------------------------------------------------------------
@pytest.mark.parametrize("code", [
    "urgency == 'urgent'", "feedback_class in ('urgent', 'important')", "satisfaction < 4", "anomaly_count > 0",
    'f"PT{agreed_response_hours}H"', "working_days(0.5)", "working_hours(2)", "visit_at",
    "customer.strip().lower().startswith('a') and len(items) >= 2", "max(scores) - min(scores) <= 1",
    "[i['name'] for i in items if i.get('ok')]", "date.fromisoformat(visit_at) - timedelta(days=1)",
])
def test_what_diagrams_write_is_allowed(code):
    check(code)


def test_the_real_diagrams_deploy(database, clock):
    engine = WorkflowEngine(database, build_registry(), clock=clock)  # every handler the real diagrams name
    paths = sorted((HERE.parents[1] / "processes").glob("*.bpmn"))
    for path in paths:
        engine.deploy(path.read_bytes(), "owner")
    assert stored(engine)[0] == len(paths) == 15  # P2 adds the weekly review and the monthly action plan
