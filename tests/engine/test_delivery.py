"""Notification delivery: real mail through a local SMTP server, a chat robot over HTTP, recipients
resolved from the directory, retries with back-off on the injected clock, leases after a crash."""
from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from engine.accounts.directory import Directory
from engine.handler_api import HandlerRegistry
from engine.notifications.outbox import DELIVERY_BACKOFF, Envelope, FileTransport, OutboxWriter, Transports
from engine.notifications.transports import SmtpTransport, WebhookTransport, message_id
from engine.runtime.workflow_engine import WorkflowEngine
from engine.settings import Settings
from engine.storage.models import OutboxMessage, User
from tests.engine.smtp_catcher import SmtpCatcher
from webapp.composition import transports_from_settings

MINUTE = timedelta(minutes=1)


@pytest.fixture
def people(database, clock) -> Directory:
    directory = Directory(database, clock)
    directory.add_user("qa.wang", "王强", "-", {"quality": "member"}, email="qa.wang@example.com")
    directory.add_user("qa.chen", "陈静", "-", {"quality": "head"}, email="qa.chen@example.com")
    directory.add_user("qa.old", "老员工", "-", {"quality": "member"}, email="qa.old@example.com")
    directory.add_user("biz.tang", "唐雪", "-", {"business_office": "member"}, email="biz.tang@example.com")
    directory.add_user("dev.liu", "刘洋", "-", {"development": "member"})  # no e-mail address
    with database.sessions.begin() as session:
        session.get(User, "qa.old").active = False
    return directory


def smtp_to(catcher) -> SmtpTransport:
    return SmtpTransport(catcher.host, catcher.port, from_address="售后系统 <aftersales@example.com>", timeout=5)


@pytest.fixture
def engine(database, clock, smtp_catcher, people) -> WorkflowEngine:
    return WorkflowEngine(database, HandlerRegistry(), clock=clock, transport=smtp_to(smtp_catcher))


def queue(engine, *messages: tuple[str, str], channel: str = "email", key: str = "case-7") -> list[str]:
    """Queue (recipient, subject) messages as a step would; returns their idempotency keys."""
    with engine.db.sessions.begin() as session:
        writer = OutboxWriter(session, engine.clock.now(), None, key)
        rows = [writer.notify(recipient, subject, f"正文：{subject}", channel=channel)
                for recipient, subject in messages]
        session.flush()
        return [row.idempotency_key for row in rows]


def row(engine, key: str) -> OutboxMessage:
    with engine.db.sessions() as session:
        return session.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).one()


def test_department_mail_is_real_utf8_mail_with_the_key_as_message_id(engine, smtp_catcher, clock):
    [key] = queue(engine, ("department:quality", "超时升级：2小时内评审（QF-2026-0007）"))
    assert engine.deliver_outbox() == 1
    [caught] = smtp_catcher.caught
    # Active members and the head; the inactive member gets nothing.
    assert sorted(caught.rcpt_tos) == ["qa.chen@example.com", "qa.wang@example.com"]
    mail = caught.message
    assert mail["Subject"] == "超时升级：2小时内评审（QF-2026-0007）"
    assert mail.get_content().strip() == "正文：超时升级：2小时内评审（QF-2026-0007）"
    assert mail["Message-ID"] == message_id(key) == "<case-7=3A1@aftersales>"
    assert mail["X-Aftersales-Key"] == key
    assert mail["From"].addresses[0].display_name == "售后系统"
    sent = row(engine, key)
    assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 1, clock.now())
    assert sent.delivered_to == "qa.chen@example.com, qa.wang@example.com"
    assert engine.deliver_outbox() == 0 and len(smtp_catcher.messages) == 1  # sent once


def test_user_head_and_plain_address_recipients(engine, smtp_catcher):
    queue(engine, ("head:quality", "给主管"), ("head:business_office", "无主管的部门"), ("user:qa.wang", "给个人"),
          ("customer@factory.cn", "给客户"), ("user:qa.wang, head:quality", "两处"))
    assert engine.deliver_outbox() == 5
    assert smtp_catcher.subjects("qa.chen@example.com") == ["给主管", "两处"]
    # A department without a head: its members are told instead, so an escalation still reaches someone.
    assert smtp_catcher.subjects("biz.tang@example.com") == ["无主管的部门"]
    assert smtp_catcher.subjects("qa.wang@example.com") == ["给个人", "两处"]
    assert smtp_catcher.subjects("customer@factory.cn") == ["给客户"]
    assert [m["To"] for m in smtp_catcher.to("customer@factory.cn")] == ["customer@factory.cn"]


def test_a_recipient_that_names_nobody_fails_for_good_without_stopping_the_others(engine, smtp_catcher):
    keys = queue(engine, ("user:nobody", "无此人"), ("department:logistics", "空部门"), ("user:qa.old", "已停用"),
                 ("user:dev.liu", "无邮箱"), ("assignee", "未解析"), ("user:qa.wang", "正常"))
    assert engine.deliver_outbox() == 1
    assert smtp_catcher.subjects() == ["正常"]
    rows = [row(engine, key) for key in keys]
    assert [r.status for r in rows] == ["failed"] * 5 + ["sent"]
    assert all(r.next_attempt_at is None for r in rows[:5])
    assert "'user:nobody' resolves to nobody" in rows[0].last_error
    assert "'department:logistics' resolves to nobody" in rows[1].last_error
    assert "'user:qa.old' resolves to nobody" in rows[2].last_error
    assert "'user:dev.liu' has no e-mail address (dev.liu)" in rows[3].last_error
    assert "'assignee' resolves to nobody" in rows[4].last_error
    assert engine.deliver_outbox() == 0 and len(smtp_catcher.messages) == 1  # failed ones are not retried


def test_the_file_transport_records_what_would_be_sent_even_before_anyone_is_registered(database, clock,
                                                                                        tmp_path):
    path = tmp_path / "outbox.jsonl"
    engine = WorkflowEngine(database, HandlerRegistry(), clock=clock, transport=FileTransport(path))
    [key] = queue(engine, ("department:logistics", "物流通知"))
    assert engine.deliver_outbox() == 1
    [line] = path.read_text(encoding="utf-8").splitlines()
    assert json.loads(line) == {"key": key, "channel": "email", "to": "department:logistics", "addresses": [],
                                "subject": "物流通知", "body": "正文：物流通知", "instance": None}
    assert row(engine, key).status == "sent"


def test_a_down_server_is_retried_with_back_off_and_the_mail_arrives_once(engine, smtp_catcher, clock):
    [key] = queue(engine, ("department:quality", "样品移交"))
    smtp_catcher.down = True
    start = clock.now()
    assert engine.deliver_outbox() == 0
    waiting = row(engine, key)
    assert (waiting.status, waiting.attempts, waiting.next_attempt_at) == ("pending", 1, start + DELIVERY_BACKOFF[0])
    assert "451" in waiting.last_error and "temporarily unavailable" in waiting.last_error
    clock.advance(DELIVERY_BACKOFF[0] - timedelta(seconds=1))
    assert engine.deliver_outbox() == 0 and row(engine, key).attempts == 1  # not due yet

    smtp_catcher.down = False
    clock.advance(timedelta(seconds=1))
    assert engine.deliver_outbox() == 1
    done = row(engine, key)
    assert (done.status, done.attempts, done.last_error, done.sent_at) == ("sent", 2, None, clock.now())
    clock.advance(timedelta(hours=3))
    assert engine.deliver_outbox() == 0
    assert [m["X-Aftersales-Key"] for m in smtp_catcher.messages] == [key]


def test_an_unreachable_server_is_given_up_after_the_back_off_list(database, clock, people):
    engine = WorkflowEngine(database, HandlerRegistry(), clock=clock,
                            transport=SmtpTransport("127.0.0.1", _closed_port(), timeout=2))
    [key] = queue(engine, ("user:qa.wang", "连不上"))
    start = clock.now()
    due_times = []
    for delay in DELIVERY_BACKOFF:
        assert engine.deliver_outbox() == 0
        due_times.append(row(engine, key).next_attempt_at)
        clock.advance(delay)
    assert due_times == [start + sum(DELIVERY_BACKOFF[:i + 1], timedelta()) for i in range(len(DELIVERY_BACKOFF))]
    assert engine.deliver_outbox() == 0
    failed = row(engine, key)
    assert (failed.status, failed.attempts, failed.next_attempt_at) == ("failed", len(DELIVERY_BACKOFF) + 1, None)
    assert "ConnectionRefusedError" in failed.last_error
    clock.advance(timedelta(days=1))
    engine.deliver_outbox()
    assert row(engine, key).attempts == len(DELIVERY_BACKOFF) + 1


class Robot:
    """A WeCom-style group robot on 127.0.0.1 that records what it was posted."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict, dict]] = []
        self.answer: tuple[int, dict] = (200, {"errcode": 0, "errmsg": "ok"})
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                robot.posts.append((dict(self.headers), json.loads(raw.decode("utf-8"))))
                status, answer = robot.answer
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cgi-bin/webhook/send?key=test"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def robot():
    robot = Robot()
    yield robot
    robot.stop()


def test_robot_and_mail_channels_side_by_side(database, clock, people, smtp_catcher, robot):
    engine = WorkflowEngine(database, HandlerRegistry(), clock=clock, transport=Transports(
        {"email": smtp_to(smtp_catcher), "webhook": WebhookTransport(robot.url, timeout=5)}))
    [mail_key] = queue(engine, ("department:quality", "邮件通知"), key="mail")
    [robot_key] = queue(engine, ("department:quality", "群机器人通知"), channel="webhook", key="robot")
    assert engine.deliver_outbox() == 2
    assert smtp_catcher.subjects() == ["邮件通知"]
    [(headers, body)] = robot.posts
    assert body == {"msgtype": "text", "text": {"content": "群机器人通知\n正文：群机器人通知",
                                                "mentioned_list": ["qa.chen", "qa.wang"]}}
    assert headers["Idempotency-Key"] == robot_key
    assert headers["Content-Type"].startswith("application/json")
    assert row(engine, mail_key).status == row(engine, robot_key).status == "sent"


@pytest.mark.parametrize("answer, error", [
    ((200, {"errcode": 93000, "errmsg": "invalid webhook url"}), "errcode 93000: invalid webhook url"),
    ((502, {"errmsg": "bad gateway"}), "HTTP 502"),
])
def test_a_robot_that_refuses_is_retried(database, clock, people, robot, answer, error):
    engine = WorkflowEngine(database, HandlerRegistry(), clock=clock,
                            transport=Transports({"webhook": WebhookTransport(robot.url, timeout=5)}))
    [key] = queue(engine, ("head:quality", "机器人"), channel="webhook")
    robot.answer = answer
    assert engine.deliver_outbox() == 0
    waiting = row(engine, key)
    assert waiting.status == "pending" and error in waiting.last_error
    robot.answer = (200, {"errcode": 0, "errmsg": "ok"})
    clock.advance(DELIVERY_BACKOFF[0])
    assert engine.deliver_outbox() == 1
    assert [h["Idempotency-Key"] for h, _ in robot.posts] == [key, key]


def test_a_channel_without_transport_fails_for_good(database, clock, people, smtp_catcher):
    engine = WorkflowEngine(database, HandlerRegistry(), clock=clock,
                            transport=Transports({"email": smtp_to(smtp_catcher)}))
    [key] = queue(engine, ("user:qa.wang", "短信"), channel="sms")
    engine.deliver_outbox()
    assert (row(engine, key).status, row(engine, key).last_error) == (
        "failed", "no transport is configured for channel 'sms'")


class DiesAfterSending:
    """Sends through SMTP, then the worker 'dies' before it can record the send (like SIGKILL)."""

    def __init__(self, inner: SmtpTransport) -> None:
        self.inner = inner

    def send(self, envelope: Envelope) -> None:
        self.inner.send(envelope)
        raise KeyboardInterrupt("killed between sending and recording")


def test_a_message_of_a_dead_worker_is_sent_again_with_the_same_key_only_after_its_lease(
        database, clock, people, smtp_catcher, engine):
    keys = queue(engine, ("user:qa.wang", "第一条"), ("user:qa.wang", "第二条"), ("user:qa.wang", "第三条"))
    dying = WorkflowEngine(database, HandlerRegistry(), clock=clock, transport=DiesAfterSending(smtp_to(smtp_catcher)))
    with pytest.raises(KeyboardInterrupt):
        dying.deliver_outbox()
    assert [row(engine, k).status for k in keys] == ["sending", "pending", "pending"]  # the rest given back
    lease = row(engine, keys[0]).claimed_until
    assert lease == clock.now() + dying.outbox.lease

    # Another worker takes the untouched ones at once but leaves the first alone while the lease lives.
    assert engine.deliver_outbox() == 2
    clock.set(lease - timedelta(seconds=1))
    assert engine.deliver_outbox() == 0
    clock.set(lease)
    assert engine.deliver_outbox() == 1
    first = row(engine, keys[0])
    assert (first.status, first.attempts, first.claimed_until) == ("sent", 2, None)
    # The receiver got the first one twice under one Message-ID, so it can drop the copy.
    ids = [m["Message-ID"] for m in smtp_catcher.messages]
    assert sorted(ids) == sorted([message_id(keys[0])] * 2 + [message_id(k) for k in keys[1:]])
    assert len(set(ids)) == 3


def test_message_ids_are_valid_and_distinct_for_distinct_keys():
    keys = ["instance:12:Task_a:1", "instance.12.Task_a.1", "instance=3A12", "案件:1", "a b<c>@d"]
    ids = [message_id(k) for k in keys]
    assert len(set(ids)) == len(keys)
    for value in ids:
        local = value[1:-len("@aftersales>")]
        assert value.startswith("<") and value.endswith("@aftersales>")
        assert local.isascii() and all(c.isalnum() or c in "-_=" for c in local)


def test_transports_come_from_the_environment(database, clock, people, smtp_catcher, robot, tmp_path):
    env = {"AFTERSALES_SMTP_HOST": smtp_catcher.host, "AFTERSALES_SMTP_PORT": str(smtp_catcher.port),
           "AFTERSALES_SMTP_SECURITY": "none", "AFTERSALES_SMTP_FROM": "noreply@example.com",
           "AFTERSALES_WEBHOOK_URL": robot.url, "AFTERSALES_OUTBOX_FILE": str(tmp_path / "other.jsonl")}
    transports = transports_from_settings(Settings.from_env(env))
    engine = WorkflowEngine(database, HandlerRegistry(), clock=clock, transport=transports)
    queue(engine, ("user:qa.wang", "邮件"), key="m")
    queue(engine, ("user:qa.wang", "机器人"), channel="webhook", key="w")
    queue(engine, ("user:qa.wang", "其他渠道"), channel="sms", key="s")
    assert engine.deliver_outbox() == 3
    assert [(m["From"], m["Subject"]) for m in smtp_catcher.messages] == [("noreply@example.com", "邮件")]
    assert [body["text"]["mentioned_list"] for _, body in robot.posts] == [["qa.wang"]]
    [line] = (tmp_path / "other.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["addresses"] == ["qa.wang@example.com"]
    with pytest.raises(ValueError, match="none, starttls, ssl"):
        Settings.from_env({"AFTERSALES_SMTP_HOST": "mail", "AFTERSALES_SMTP_SECURITY": "tls"})
    ssl_transport = transports_from_settings(Settings.from_env({
        "AFTERSALES_SMTP_HOST": "smtp.exmail.qq.com", "AFTERSALES_SMTP_SECURITY": "ssl",
        "AFTERSALES_SMTP_USER": "bot", "AFTERSALES_SMTP_PASSWORD": "secret"})).channels["email"]
    assert (ssl_transport.port, ssl_transport.username, ssl_transport.password) == (465, "bot", "secret")


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def certificate(tmp_path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl tool."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # it is TLS: implicit
@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_mail_over_tls_with_a_login(database, clock, people, certificate, security):
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"bot", b"s3cret"),
                          handled=False, auth_data=auth_data.login)

    # With implicit TLS aiosmtpd does not see that the socket is encrypted, so it is told AUTH is fine.
    tls_option = {"tls_context": server_tls, "require_starttls": True} if security == "starttls" else {
        "ssl_context": server_tls, "auth_require_tls": False}
    server = SmtpCatcher(authenticator=authenticator, auth_required=True, **tls_option).start()
    try:
        client_tls = ssl.create_default_context(cafile=str(cert))
        good = SmtpTransport(server.host, server.port, username="bot", password="s3cret", security=security,
                             ssl_context=client_tls, timeout=5)
        engine = WorkflowEngine(database, HandlerRegistry(), clock=clock, transport=good)
        [key] = queue(engine, ("user:qa.wang", "加密通道"))
        assert engine.deliver_outbox() == 1
        assert server.subjects("qa.wang@example.com") == ["加密通道"] and server.logins == [b"bot"]

        wrong = SmtpTransport(server.host, server.port, username="bot", password="wrong", security=security,
                              ssl_context=client_tls, timeout=5)
        engine = WorkflowEngine(database, HandlerRegistry(), clock=clock, transport=wrong)
        [key] = queue(engine, ("user:qa.wang", "密码错误"), key="wrong")
        assert engine.deliver_outbox() == 0
        assert "SMTPAuthenticationError" in row(engine, key).last_error and row(engine, key).status == "pending"
        assert len(server.messages) == 1
    finally:
        server.stop()


class _AnsweringTransport:
    """A mail server that refuses one recipient with an answer holding a NUL byte (PostgreSQL stores no
    NUL in text) and takes every other message."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, envelope: Envelope) -> None:
        if "坏" in envelope.subject:
            raise ConnectionError("550 mailbox \x00 unavailable")
        self.sent.append(envelope.subject)


def test_a_message_whose_failure_is_odd_text_is_retried_and_the_others_are_sent(database, clock, people):
    """One poisoned message never blocks the queue (issue 18): its failure is stored (without the NUL), it
    is retried after the back-off, and the messages behind it are sent in the same round."""
    transport = _AnsweringTransport()
    engine = WorkflowEngine(database, HandlerRegistry(), clock=clock, transport=transport)
    keys = queue(engine, ("user:qa.wang", "坏信"), ("user:qa.wang", "好信一"), ("user:qa.chen", "好信二"))
    assert engine.deliver_outbox() == 2
    assert transport.sent == ["好信一", "好信二"]
    bad = row(engine, keys[0])
    assert (bad.status, bad.attempts, bad.next_attempt_at) == ("pending", 1, clock.now() + DELIVERY_BACKOFF[0])
    assert bad.last_error == "ConnectionError: 550 mailbox  unavailable"
    assert [row(engine, key).status for key in keys[1:]] == ["sent", "sent"]
