"""The departments of the procedures (lanes and candidate groups name them); seeded on `init`."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.storage.models import Department

SPEC_DEPARTMENTS: tuple[tuple[str, str, str], ...] = (
    ("sales", "销售部", "Sales"),
    ("quality", "质量部", "Quality"),
    ("development", "开发部", "Development (R&D)"),
    ("production", "生产部", "Production"),
    ("workshops", "各车间", "Workshops"),
    ("after_sales", "售后服务部", "After-sales service"),
    ("business_office", "商务部", "Business office"),
    ("logistics", "物流", "Logistics"),
    ("order_management", "订单管理部", "Order management"),
    ("product_management", "产品经理", "Product management"),
    ("sample_room", "样品室", "Sample room"),
    ("tech_support", "技术支持", "Technical support"),
    ("service_supervisors", "售后主管", "After-sales supervisors"),
    ("process_engineering", "工艺部", "Process engineering"),
    ("test_center", "测试中心", "Test center"),
    ("engineering", "工程部", "Engineering"),
)


def ensure_departments(session: Session) -> None:
    """Add the procedures' departments that are missing; existing rows (renamed by a company) stay."""
    for code, name_zh, name_en in SPEC_DEPARTMENTS:
        if session.get(Department, code) is None:
            session.add(Department(code=code, name_zh=name_zh, name_en=name_en))


def department_names_in(session: Session) -> dict[str, tuple[str, str]]:
    """Department code -> (Chinese, English) name, as the company keeps them."""
    return {d.code: (d.name_zh, d.name_en) for d in session.scalars(select(Department))}
