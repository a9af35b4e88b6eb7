"""The modeller's save and the API answer a refused diagram with 400 and the rule in Chinese naming the
element (never a 500 or English Python text); nothing is stored."""
from __future__ import annotations

import pytest

from engine.modelling.process_versions import list_process_versions
from tests.engine.hostile.refusal_diagrams import retyped, with_condition
from tests.webapp.conftest import app, as_user, engine  # noqa: F401  (the web app's fixtures)

OWNER = "owner.xu"
PROBES = [  # diagram, element, the Chinese words of the rule
    (retyped("Task_finish", "businessRuleTask"), "Task_finish", "不支持业务规则任务"),
    (retyped("Task_finish", "sendTask"), "Task_finish", "不支持发送任务"),
    (with_condition("${amount > 100}"), "Flow_3", "请写 amount > 100，而不是 ${amount > 100}"),
    (with_condition("__import__('os') is None"), "Flow_3", "使用了 __import__，流程图不允许使用"),
    (with_condition("open('/etc/passwd') is None"), "Flow_3", "调用了 open，流程图不允许调用"),
]


@pytest.mark.parametrize(("raw", "element_id", "words"), PROBES,
                         ids=["businessRuleTask", "sendTask", "JUEL", "__import__", "open"])
def test_the_modeller_says_the_rule_in_chinese(as_user, engine, raw, element_id, words):  # noqa: F811
    owner = as_user(OWNER)
    owner.page("/modeler/")
    response = owner.client.post("/modeler/deploy", data=raw, content_type="application/xml",
                                 headers={"X-CSRFToken": owner.token or ""})
    assert response.status_code == 400
    assert words in response.json["message"] and element_id in response.json["message"]
    assert "diagrams may not" not in response.json["message"]  # no English inside the Chinese frame
    assert response.json["element_id"] == element_id
    assert list_process_versions(engine.db, "simple_review") == []
