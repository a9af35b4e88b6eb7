"""P1 sample ledger (样品登记台帐): every sample registered and labelled, then kept by the sample room."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.handler_api import Base, HandlerContext, HandlerRegistry, RecordSection, UtcDateTime
from handlers.numbering import next_number

registry = HandlerRegistry()

LOCATIONS = {"with_custodian": ("保管人处", "With the custodian"), "sample_room": ("样品室", "Sample room")}


class SampleLedgerEntry(Base):
    __tablename__ = "sample_ledger"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label_no: Mapped[str] = mapped_column(String(40), unique=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    business_key: Mapped[str | None] = mapped_column(String(120), index=True)
    name: Mapped[str] = mapped_column(String(200))
    spec_model: Mapped[str] = mapped_column(String(200))
    supplier: Mapped[str] = mapped_column(String(200))
    arrival_date: Mapped[str] = mapped_column(String(10))
    custodian: Mapped[str] = mapped_column(String(120))
    quantity: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(40))
    location: Mapped[str] = mapped_column(String(40))  # with_custodian, sample_room
    registered_by: Mapped[str] = mapped_column(String(120))
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    moved_to_sample_room_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


@registry.handler("samples.register")
def register_sample(ctx: HandlerContext) -> dict[str, Any]:
    """Enter the sample in the ledger and give it the label number to stick on it."""
    label_no = next_number(ctx.session, SampleLedgerEntry.label_no, "YP", ctx.now)
    data = ctx.data
    ctx.session.add(SampleLedgerEntry(
        label_no=label_no, instance_id=ctx.instance_id, business_key=ctx.business_key, name=data["sample_name"],
        spec_model=data["sample_spec"], supplier=data["supplier"], arrival_date=data["arrival_time"],
        custodian=data["custodian"], quantity=int(data["sample_quantity"]), source=data["sample_source"],
        location="with_custodian", registered_by=ctx.actor, registered_at=ctx.now))
    return {"sample_label_no": label_no}


@registry.handler("samples.transfer_to_sample_room")
def transfer_to_sample_room(ctx: HandlerContext) -> dict[str, Any]:
    """000 5.1.2.4: after testing the sample room acknowledges receipt and keeps the case's samples centrally;
    the ledger then names the sample room as where they are and the member who received them as custodian."""
    entries = ctx.session.query(SampleLedgerEntry).filter_by(instance_id=ctx.instance_id).all()
    moved = []
    for entry in entries:
        if entry.location != "sample_room":
            moved.append({"label_no": entry.label_no, "previous_custodian": entry.custodian})
            entry.location, entry.moved_to_sample_room_at, entry.custodian = "sample_room", ctx.now, ctx.actor
    ctx.audit("samples_received", {"received_by": ctx.actor, "storage_place": ctx.data.get("storage_place"),
                                   "remarks": ctx.data.get("receipt_remarks"), "samples": moved})
    return {"samples_in_sample_room": len(entries)}


@registry.case_records
def sample_ledger_record(session: Session, instance_id: int) -> RecordSection | None:
    """The case's entries of the sample ledger, with where each sample is kept now."""
    return RecordSection.of("样品登记台帐", "Sample ledger", [
        ("label_no", "标签号", "Label"), ("name", "样品名称", "Sample"), ("spec_model", "规格型号", "Spec/model"),
        ("supplier", "提供厂家", "Supplier"), ("arrival_date", "到达时间", "Arrived"),
        ("custodian", "保管人", "Custodian"), ("quantity", "数量", "Quantity"), ("location", "存放", "Kept at"),
    ], session.query(SampleLedgerEntry).filter_by(instance_id=instance_id).order_by(SampleLedgerEntry.id).all(),
        labels={"location": LOCATIONS})
