"""Engineers who may be sent to customers (certificates, skills, regions) and dispatch by skill, region and
current open load. Only certified staff (上岗证) may be assigned installation, repair or maintenance (P5), so
every assignment - automatic or a supervisor's choice - is checked against the certificate on the day."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Boolean, Date, Integer, String, and_, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handler_api import Base, BpmnError, HandlerContext, HandlerRegistry, RecordSection, UtcDateTime

registry = HandlerRegistry()
BEIJING = ZoneInfo("Asia/Shanghai")
_VARIABLE = re.compile(r"\$\{(\w+)\}")

REGIONS = ("华东", "华南", "华北", "华中", "西南", "西北", "东北")
SKILLS = {"installation": ("安装", "Installation"), "repair": ("维修", "Repair"),
          "maintenance": ("保养", "Maintenance"), "electronics": ("电子", "Electronics"),
          "software": ("软件", "Software"), "mechanical": ("机械", "Mechanical")}


class Engineer(Base):
    """A field or support engineer the dispatcher may send: the directory user who receives the task."""

    __tablename__ = "engineers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    region: Mapped[str] = mapped_column(String(40), index=True)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    certificate_no: Mapped[str | None] = mapped_column(String(60))  # 上岗证号
    certified_until: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def certified_on(self, day: date) -> bool:
        """Holds a certificate (上岗证) valid on that day (the last day included) and is still working."""
        return bool(self.active and self.certificate_no and self.certified_until and self.certified_until >= day)

    @property
    def skills_text(self) -> str:
        return ", ".join(self.skills)


class EngineerAssignment(Base):
    """One engineer sent on one case; open until the case's sign-off releases it (the engineer's load)."""

    __tablename__ = "engineer_assignments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    engineer: Mapped[str] = mapped_column(String(120), index=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    business_key: Mapped[str | None] = mapped_column(String(120), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # e.g. repair, installation, electronics_service
    skill: Mapped[str | None] = mapped_column(String(40))
    region: Mapped[str | None] = mapped_column(String(40))  # the customer's region
    outside_region: Mapped[bool] = mapped_column(Boolean, default=False)
    assigned_by: Mapped[str] = mapped_column(String(120))  # the actor; a supervisor on a manual choice
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)


@dataclass(frozen=True)
class DemoEngineer:
    username: str
    name: str
    region: str
    skills: tuple[str, ...]
    certificate_no: str | None
    certified_until: date | None


DEMO_ENGINEERS = (
    DemoEngineer("fe.zhu", "朱磊", "华东", ("repair", "installation", "maintenance", "electronics"),
                 "SG-2024-0311", date(2028, 6, 30)),
    DemoEngineer("fe.yang", "杨帆", "华南", ("electronics", "software", "repair"), "SG-2025-0102", date(2028, 12, 31)),
    DemoEngineer("fe.ye", "叶青", "华北", ("installation", "maintenance", "mechanical"), "SG-2022-0527",
                 date(2027, 3, 31)),
    DemoEngineer("ts.qian", "钱毅", "华东", ("software", "electronics"), "SG-2025-0418", date(2028, 3, 31)),
    # A support head whose certificate ran out: the dispatcher never picks him, a supervisor's choice is refused.
    DemoEngineer("ts.dong", "董洁", "华东", ("software", "electronics", "repair"), "SG-2021-0090", date(2025, 12, 31)),
)


def seed_demo_engineers(session: Session) -> int:
    """Enter the demo engineers (an existing row is left as an administrator may have changed it)."""
    known = set(session.scalars(select(Engineer.username)))
    added = [Engineer(username=e.username, name=e.name, region=e.region, skills=list(e.skills),
                      certificate_no=e.certificate_no, certified_until=e.certified_until, active=True)
             for e in DEMO_ENGINEERS if e.username not in known]
    session.add_all(added)
    return len(added)


def local_day(moment: datetime) -> date:
    """Certificates run to a calendar day in China."""
    return moment.astimezone(BEIJING).date()


def open_loads(session: Session) -> list[tuple[Engineer, int]]:
    """Every active engineer with the number of cases he holds open now (one query)."""
    load = func.count(EngineerAssignment.id)
    rows = session.execute(
        select(Engineer, load)
        .outerjoin(EngineerAssignment, and_(EngineerAssignment.engineer == Engineer.username,
                                            EngineerAssignment.closed_at.is_(None)))
        .where(Engineer.active.is_(True))
        .group_by(Engineer.id)
        .order_by(Engineer.username))
    return [(engineer, int(count)) for engineer, count in rows]


def choose_engineer(session: Session, skill: str, region: str | None, day: date) -> tuple[Engineer, int, bool] | None:
    """The certified engineer with the skill: in the customer's region first, then the least open load,
    then the username (a stable tie-break); elsewhere only when nobody in the region qualifies. Without a
    region (work that does not depend on where the customer is) only the load and the username count."""
    qualified = [(e, load) for e, load in open_loads(session) if e.certified_on(day) and skill in (e.skills or [])]
    if not qualified:
        return None
    engineer, load = min(qualified, key=lambda pair: (region is not None and pair[0].region != region, pair[1],
                                                      pair[0].username))
    return engineer, load, region is not None and engineer.region != region


def _expand(text: str, ctx: HandlerContext) -> str:
    """Fill `${variable}` from the case data; a variable without a value is a plain error."""
    def value(match: re.Match[str]) -> str:
        if ctx.data.get(match.group(1)) in (None, ""):
            raise ValueError(f"case variable '{match.group(1)}' named in '{text}' has no value")
        return str(ctx.data[match.group(1)])
    return _VARIABLE.sub(value, text)


def _skill(ctx: HandlerContext, required: bool) -> str | None:
    text = ctx.property("skill")
    if not text:
        if required:
            raise ValueError("the task needs the property skill (e.g. repair or ${required_skill})")
        return None
    skill = _expand(text, ctx)
    if skill not in SKILLS:
        raise ValueError(f"unknown skill '{skill}'; known: {', '.join(SKILLS)}")
    return skill


def _open_assignment(ctx: HandlerContext, engineer: Engineer, skill: str | None, region: str | None,
                     outside: bool, manual: bool) -> EngineerAssignment:
    """Write the assignment; an earlier open one of the same kind on this case is closed (re-dispatch)."""
    kind = ctx.property("kind") or ctx.process_key
    for previous in ctx.session.scalars(select(EngineerAssignment).where(
            EngineerAssignment.instance_id == ctx.instance_id, EngineerAssignment.kind == kind,
            EngineerAssignment.closed_at.is_(None))):
        previous.closed_at = ctx.now
    assignment = EngineerAssignment(engineer=engineer.username, instance_id=ctx.instance_id,
                                    business_key=ctx.business_key, kind=kind, skill=skill, region=region,
                                    outside_region=outside, assigned_by=ctx.actor, manual=manual, opened_at=ctx.now)
    ctx.session.add(assignment)
    return assignment


def _result(output: str, engineer: Engineer, load: int, outside: bool) -> dict[str, Any]:
    return {output: engineer.username, f"{output}_name": engineer.name, f"{output}_region": engineer.region,
            f"{output}_certificate_no": engineer.certificate_no, f"{output}_open_load": load,
            "dispatched_outside_region": outside}


@registry.handler("dispatching.assign_engineer")
def assign_engineer(ctx: HandlerContext) -> dict[str, Any]:
    """Pick the engineer for the case (P7 一(三)2: by work order type, fault, location, skill and current load;
    P5: certified only). The case variable named by `type_field` holds the work order type; for the types
    listed in `any_region_types` (e.g. mail_in: the device comes to the repair centre) the customer's region
    is no criterion. Nobody qualified raises NO_ENGINEER so the diagram hands the choice to a supervisor."""
    skill = _skill(ctx, required=True)
    region_field = ctx.property("region_field", "region")
    region = ctx.data.get(region_field)
    if not region:
        raise ValueError(f"case variable '{region_field}' (the customer's region) has no value")
    work_type = ctx.data.get(ctx.property("type_field") or "")
    by_region = not (work_type and work_type in ctx.property_list("any_region_types"))
    chosen = choose_engineer(ctx.session, skill, region if by_region else None, local_day(ctx.now))
    if chosen is None:
        raise BpmnError("NO_ENGINEER", f"no active engineer with a valid certificate has the skill '{skill}'")
    engineer, load, outside = chosen
    _open_assignment(ctx, engineer, skill, region, outside, manual=False)
    ctx.audit("engineer_assigned", {"engineer": engineer.username, "skill": skill, "region": region,
                                    "open_load": load, "outside_region": outside, "work_type": work_type,
                                    "by_region": by_region})
    return _result(ctx.property("output", "engineer"), engineer, load, outside)


@registry.handler("dispatching.confirm_engineer")
def confirm_engineer(ctx: HandlerContext) -> dict[str, Any]:
    """Accept a supervisor's choice only if that engineer is active, certified today and has the skill."""
    field = ctx.property("field", "engineer")
    username = ctx.data.get(field)
    skill = _skill(ctx, required=False)
    engineer = ctx.session.scalar(select(Engineer).where(Engineer.username == username)) if username else None
    if engineer is None:
        raise BpmnError("ENGINEER_NOT_CERTIFIED", f"'{username or ''}' is not a registered engineer")
    if not engineer.certified_on(local_day(ctx.now)):
        raise BpmnError("ENGINEER_NOT_CERTIFIED",
                        f"{engineer.username} has no valid certificate (上岗证) today or is inactive")
    if skill and skill not in (engineer.skills or []):
        raise BpmnError("ENGINEER_NOT_CERTIFIED", f"{engineer.username} lacks the skill '{skill}'")
    region = ctx.data.get(ctx.property("region_field", "region"))
    outside = bool(region) and engineer.region != region
    load = dict((e.username, n) for e, n in open_loads(ctx.session)).get(engineer.username, 0)
    _open_assignment(ctx, engineer, skill, region, outside, manual=True)
    ctx.audit("engineer_confirmed", {"engineer": engineer.username, "skill": skill, "chosen_by": ctx.actor})
    return _result(field, engineer, load, outside)


@registry.handler("dispatching.release_engineer")
def release_engineer(ctx: HandlerContext) -> dict[str, Any]:
    """The case is signed off: its open assignments (of the `kind` property, else all) stop counting as load."""
    query = select(EngineerAssignment).where(EngineerAssignment.instance_id == ctx.instance_id,
                                             EngineerAssignment.closed_at.is_(None))
    if ctx.property("kind"):
        query = query.where(EngineerAssignment.kind == ctx.property("kind"))
    released = []
    for assignment in ctx.session.scalars(query):
        assignment.closed_at = ctx.now
        released.append(assignment.engineer)
    return {"released_engineers": released}


@registry.case_records
def assignment_record(session: Session, instance_id: int) -> RecordSection | None:
    """Who was sent on the case, for which skill, and whether the case still holds them."""
    return RecordSection.of("工程师派工", "Engineer dispatch", [
        ("engineer", "工程师", "Engineer"), ("skill", "技能", "Skill"), ("region", "客户区域", "Customer region"),
        ("outside_region", "跨区派工", "Outside region"), ("manual", "主管指定", "Chosen by supervisor"),
        ("assigned_by", "派工人", "Assigned by"), ("opened_at", "派工时间", "Assigned at"),
        ("closed_at", "释放时间", "Released at"),
    ], session.scalars(select(EngineerAssignment).where(EngineerAssignment.instance_id == instance_id)
                       .order_by(EngineerAssignment.id)).all())
