"""P7 electronic product service (电子产品售后服务): what the customer and the engineer are told and what the
customer agrees to - the solution with its fee, rough duration and preparations, the dispatch with the
confirmed service time, the steps, risks and data security explained before the repair, and the fee details
at settlement. Without an e-mail address the service desk is asked to phone the customer the same text."""
from __future__ import annotations

from typing import Any

from engine.handler_api import BpmnError, HandlerContext, HandlerRegistry, option_names
from handlers.electronics_service import ElectronicsServiceRequest, money, service_request

registry = HandlerRegistry()


def _named(ctx: HandlerContext, field: str, code: Any) -> str:
    """A coded value as the diagram names it (e.g. service_type carry_in -> 送修)."""
    if code in (None, ""):
        return "—"
    return option_names(ctx.session, ctx.process_key).get(field, {}).get(str(code), (str(code),))[0]


def tell_customer(ctx: HandlerContext, request: ElectronicsServiceRequest, subject: str, body: str) -> str:
    """Write to the customer's e-mail, else ask the desk (`phone_department`) to phone them; returns the recipient."""
    if request.contact_email:
        ctx.outbox.notify(request.contact_email, subject, body)
        return request.contact_email
    desk = f"department:{ctx.property('phone_department', 'after_sales')}"
    ctx.outbox.notify(desk, f"请电话告知客户：{subject}", f"{request.customer_name} {request.contact_phone}：\n{body}")
    return desk


def _fee_text(request: ElectronicsServiceRequest) -> str:
    if not request.chargeable:
        return f"在保修期内（至 {request.warranty_until}），免费"
    return (f"已超出保修期（至 {request.warranty_until}），人工费 {request.labour_fee or 0} 元、"
            f"配件费 {request.parts_fee or 0} 元，合计 {request.fee_total} 元")


@registry.handler("electronics_service.inform_solution")
def inform_solution(ctx: HandlerContext) -> dict[str, Any]:
    """Tell the customer the solution, the fee it may cost (out of warranty), the rough duration and what to
    prepare (004 一(二)2) before asking for their consent (一(二)3)."""
    request, data = service_request(ctx), ctx.data
    body = (f"您的服务请求 {request.request_no}（{request.model} 序列号 {request.serial_no}）评估结果：\n"
            f"故障分析：{request.diagnosis}\n"
            f"解决方案：{_named(ctx, 'solution', data.get('solution'))}，服务类型：{_named(ctx, 'service_type', data.get('service_type'))}\n"
            f"可能产生的费用：{_fee_text(request)}\n"
            f"大致周期：{data.get('expected_duration')}\n"
            f"所需准备事项：{data.get('preparation')}\n"
            "我们将与您确认是否同意该方案及服务时间。")
    told = tell_customer(ctx, request, f"服务方案及费用：{request.request_no}", body)
    ctx.audit("customer_informed", {"request_no": request.request_no, "recipient": told,
                                    "expected_duration": data.get("expected_duration")})
    return {}


def service_time(ctx: HandlerContext) -> str:
    """The confirmed service date and time of day, e.g. 2026-11-17 上午（9:00-12:00）."""
    return f"{ctx.data.get('service_date')} {_named(ctx, 'service_slot', ctx.data.get('service_slot'))}"


@registry.handler("electronics_service.notify_dispatch")
def notify_dispatch(ctx: HandlerContext) -> dict[str, Any]:
    """Tell the engineer at once and give the customer the confirmed service time or processing period
    (004 一(三)3): on site the visit, carry-in when and where to bring the device, mail-in where to send it."""
    request, data = service_request(ctx), ctx.data
    request.engineer, request.engineer_name = data["engineer"], data.get("engineer_name")
    request.dispatched_at = ctx.now
    kind, when = data.get("service_type") or "on_site", service_time(ctx)
    kind_name, point = _named(ctx, "service_type", kind), ctx.property("service_point", "")
    ctx.outbox.notify(f"user:{request.engineer}", f"派工通知：{request.work_order_no} {request.customer_name}",
                      f"服务类型：{kind_name}；确认的服务时间：{when}（用户期望："
                      f"{data.get('expected_service_date')} {_named(ctx, 'expected_service_slot', data.get('expected_service_slot'))}）\n"
                      f"地址：{request.address}（{request.region}）\n联系电话：{request.contact_phone}\n"
                      f"产品：{request.model} 序列号 {request.serial_no}\n故障：{request.problem}\n"
                      f"诊断：{request.diagnosis}\n方案：{_named(ctx, 'solution', request.solution)}")
    duration = data.get("expected_duration")
    if kind == "carry_in":
        body = (f"您的服务工单 {request.work_order_no} 已安排送修：请于 {when} 将设备送至 {point}，"
                f"由工程师 {request.engineer_name} 检修，预计处理周期：{duration}。")
    elif kind == "mail_in":
        body = (f"您的服务工单 {request.work_order_no} 已安排寄修：请于 {ctx.data.get('service_date')} 前将设备寄至 {point}"
                f"（请注明工单号），由工程师 {request.engineer_name} 检修，预计处理周期：{duration}。")
    else:
        body = (f"您的服务工单 {request.work_order_no} 已派工：工程师 {request.engineer_name} 将于 {when} 上门服务"
                f"（{request.address}），预计处理周期：{duration}。")
    tell_customer(ctx, request, f"服务工单已派工：{request.work_order_no}", body)
    return {}


@registry.handler("electronics_service.record_repair_consent")
def record_repair_consent(ctx: HandlerContext) -> dict[str, Any]:
    """Before the repair the engineer explained the steps and risks and the customer agreed (004 一(四)2); on
    site he showed his work ID; a data-sensitive device needs the data protection and the customer's consent
    to its data being accessed (一(四)3). Anything missing raises REPAIR_CONSENT_INCOMPLETE; what was explained
    and agreed is sent to the customer in writing."""
    request, data = service_request(ctx), ctx.data
    if data["repair_consent"] == "agreed":
        missing = []
        if data.get("service_type", "on_site") == "on_site" and not data.get("work_id_shown"):
            missing.append("on site the engineer shows his work ID first")
        if data.get("data_sensitive") and not data.get("data_protection"):
            missing.append("a data-sensitive device needs its data protection (backup) recorded")
        if data.get("data_sensitive") and not data.get("privacy_consent"):
            missing.append("a data-sensitive device needs the customer's consent to its data being accessed")
        if missing:
            raise BpmnError("REPAIR_CONSENT_INCOMPLETE", f"{request.work_order_no}: " + "; ".join(missing))
    lines = [f"工单 {request.work_order_no} 维修前告知：", f"操作步骤：{data.get('steps_explained')}",
             f"可能风险：{data.get('risks_explained')}"]
    if data.get("data_sensitive"):
        lines.append(f"用户数据安全：{_named(ctx, 'data_protection', data.get('data_protection'))}；"
                     "维修人员仅为维修需要接触设备数据，不复制、不留存。")
    lines.append("您已同意按上述步骤维修。" if data["repair_consent"] == "agreed" else "您未同意维修，本次不进行维修。")
    tell_customer(ctx, request, f"维修前告知：{request.work_order_no}", "\n".join(lines))
    ctx.audit("repair_consent_recorded", {"work_order_no": request.work_order_no, "consent": data["repair_consent"],
                                          "data_sensitive": bool(data.get("data_sensitive")),
                                          "data_protection": data.get("data_protection")})
    return {}


@registry.handler("electronics_service.close_repair_refused")
def close_repair_refused(ctx: HandlerContext) -> dict[str, Any]:
    """The customer did not agree to the repair: the request is closed and archived as such (004 一(四)2)."""
    request = service_request(ctx)
    request.status, request.archived_at = "repair_refused", ctx.now
    tell_customer(ctx, request, f"服务工单已关闭：{request.work_order_no}",
                  f"您未同意维修，服务工单 {request.work_order_no} 已关闭。如需再次服务，请随时联系我们。")
    return {"archived_at": ctx.now.isoformat()}


@registry.handler("electronics_service.record_settlement")
def record_settlement(ctx: HandlerContext) -> dict[str, Any]:
    """The fee the business office collected, with its basis and details sent to the customer (004 一(五)3)."""
    request = service_request(ctx)
    request.amount_received = money(ctx.data["amount_received"])
    request.payment_method, request.fee_invoice_no = ctx.data["payment_method"], ctx.data.get("fee_invoice_no")
    request.settled_by, request.settled_at = ctx.actor, ctx.now
    tell_customer(ctx, request, f"收费明细：{request.work_order_no or request.request_no}",
                  f"收费依据：{_fee_text(request)}\n收费说明：{request.quote_note or '—'}\n"
                  f"实收 {request.amount_received} 元（{_named(ctx, 'payment_method', request.payment_method)}），"
                  f"发票号 {request.fee_invoice_no or '—'}。")
    return {"fee_outstanding": float(request.fee_total - request.amount_received)}
