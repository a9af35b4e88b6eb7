"""Real transports for outbox messages: e-mail over SMTP and WeCom/DingTalk-style chat robots.

Both carry the message's idempotency key (Message-ID and X-Aftersales-Key for mail, an Idempotency-Key
header for the robot), so a message sent again after a worker died mid-send can be recognised and
discarded by the receiver.
"""
from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from engine.notifications.outbox import Envelope, PermanentDeliveryError

log = logging.getLogger("aftersales.outbox")

SECURITY_MODES = ("none", "starttls", "ssl")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


def message_id(key: str, domain: str = "aftersales") -> str:
    """The Message-ID of a key: letters, digits, `-` and `_` kept, every other byte written as `=XX`,
    so two different keys never share an id."""
    local = "".join(chr(b) if b < 128 and (chr(b).isalnum() or chr(b) in "-_") else f"={b:02X}"
                    for b in key.encode("utf-8"))
    return f"<{local}@{domain}>"


class SmtpTransport:
    """Sends each message as one UTF-8 e-mail to every address its recipient resolved to."""

    def __init__(self, host: str, port: int | None = None, *, username: str | None = None,
                 password: str | None = None, security: str = "none", from_address: str = "aftersales@localhost",
                 timeout: float = 30.0, local_hostname: str | None = None,
                 ssl_context: ssl.SSLContext | None = None, message_id_domain: str = "aftersales") -> None:
        if security not in SECURITY_MODES:
            raise ValueError(f"SMTP security must be one of {', '.join(SECURITY_MODES)}, not '{security}'")
        self.host = host
        self.port = port or DEFAULT_PORTS[security]
        self.username = username
        self.password = password
        self.security = security
        self.from_address = from_address
        self.timeout = timeout
        self.local_hostname = local_hostname
        self.ssl_context = ssl_context
        self.message_id_domain = message_id_domain

    def build(self, envelope: Envelope) -> EmailMessage:
        """The MIME message: Chinese subject and body in UTF-8, the key as Message-ID."""
        mail = EmailMessage()
        mail["From"] = self.from_address
        mail["To"] = ", ".join(envelope.addresses)
        mail["Subject"] = envelope.subject
        mail["Date"] = formatdate(localtime=True)
        mail["Message-ID"] = message_id(envelope.key, self.message_id_domain)
        mail["X-Aftersales-Key"] = envelope.key
        mail.set_content(envelope.body, charset="utf-8")
        return mail

    def send(self, envelope: Envelope) -> None:
        addresses = envelope.addresses
        if not addresses:
            raise PermanentDeliveryError(f"recipient '{envelope.recipient}' has no e-mail address "
                                         f"({', '.join(envelope.usernames) or 'nobody'})")
        mail = self.build(envelope)
        try:
            with self._connect() as smtp:
                refused = smtp.send_message(mail, from_addr=parseaddr(self.from_address)[1], to_addrs=addresses)
        except smtplib.SMTPRecipientsRefused as err:
            if all(code >= 500 for code, _ in err.recipients.values()):
                raise PermanentDeliveryError(f"mail server refused every recipient: {err.recipients}") from err
            raise
        if refused:  # the others got it; sending again would duplicate theirs
            log.warning("message %s: refused %s", envelope.key, refused)

    def _connect(self) -> smtplib.SMTP:
        context = self.ssl_context or ssl.create_default_context()
        if self.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, local_hostname=self.local_hostname,
                                                  timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password or "")
        except Exception:
            smtp.close()
            raise
        return smtp


class WebhookError(Exception):
    """The robot did not take the message (HTTP status or errcode)."""


class WebhookTransport:
    """Posts a text message to a WeCom/DingTalk-style group robot, mentioning the resolved users.

    A non-2xx answer or a JSON answer whose `errcode` is not 0 is a failure (retried with back-off).
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout

    @staticmethod
    def payload(envelope: Envelope) -> dict:
        content = f"{envelope.subject}\n{envelope.body}" if envelope.body else envelope.subject
        return {"msgtype": "text", "text": {"content": content, "mentioned_list": envelope.usernames}}

    def send(self, envelope: Envelope) -> None:
        request = urllib.request.Request(
            self.url, data=json.dumps(self.payload(envelope), ensure_ascii=False).encode("utf-8"), method="POST",
            headers={"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": envelope.key})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (configured URL)
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as err:
            raise WebhookError(f"robot answered HTTP {err.code}: {err.read()[:200]!r}") from err
        if not 200 <= status < 300:
            raise WebhookError(f"robot answered HTTP {status}")
        try:
            answer = json.loads(raw) if raw.strip() else {}
        except ValueError:
            answer = {}
        if isinstance(answer, dict) and answer.get("errcode", 0) != 0:
            raise WebhookError(f"robot answered errcode {answer.get('errcode')}: {answer.get('errmsg', '')}")
