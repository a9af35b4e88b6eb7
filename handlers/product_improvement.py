"""P6 customer feedback to product improvement: the 《客户反馈记录表》, 《问题分析报告》, improvement plans and the knowledge base."""
from __future__ import annotations

from engine.handler_api import HandlerRegistry

registry = HandlerRegistry()
