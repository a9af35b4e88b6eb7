"""Service-task handlers, one module per business area; `build_registry` is the one explicit table."""
from __future__ import annotations

from engine.handler_api import HandlerRegistry
from handlers import (
    after_sales_cases,
    after_sales_reviews,
    after_sales_tracking,
    change_notices,
    consultations,
    dispatching,
    electronics_service,
    electronics_service_notices,
    expert_group,
    feedback,
    field_service,
    monthly_reviews,
    notifications,
    product_improvement,
    quality_analysis,
    quality_reports,
    rectification,
    samples,
    service_desk,
)


def build_registry() -> HandlerRegistry:
    registry = HandlerRegistry()
    for module in (feedback, samples, rectification, change_notices, notifications, service_desk,
                   after_sales_cases, expert_group, after_sales_tracking, after_sales_reviews, quality_analysis,
                   quality_reports, field_service, dispatching, product_improvement, electronics_service,
                   electronics_service_notices, monthly_reviews, consultations):
        registry.include(module.registry)
    return registry
