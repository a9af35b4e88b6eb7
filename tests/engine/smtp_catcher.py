"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every mail it accepts, for tests to read."""
from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class CaughtMail:
    """One accepted SMTP transaction: who the client said it was, the envelope recipients, the mail."""

    helo: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage


class SmtpCatcher:
    """Collects mail; `down` makes it refuse every transaction (451), as a broken server would."""

    def __init__(self, **controller_options) -> None:
        """`controller_options` go to aiosmtpd's Controller (tls_context, ssl_context, authenticator...)."""
        self.caught: list[CaughtMail] = []
        self.down = False
        self.logins: list = []  # per mail, who had authenticated (None: nobody)
        # Called (in the server's thread) after a mail is kept and before the server answers 250.
        self.on_mail: Callable[[CaughtMail], None] | None = None
        self._lock = threading.Lock()
        self.host = "127.0.0.1"
        self.port = _free_port()
        self._controller = Controller(self, hostname=self.host, port=self.port, **controller_options)

    # -- aiosmtpd handler hooks ------------------------------------------------------------------
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.down:
            return "451 4.3.0 mail system temporarily unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.logins.append(session.auth_data if session.authenticated else None)
        mail = CaughtMail(session.host_name or "", tuple(envelope.rcpt_tos),
                          message_from_bytes(envelope.content, policy=policy.default))
        with self._lock:
            self.caught.append(mail)
        if self.on_mail is not None:
            self.on_mail(mail)
        return "250 Message accepted for delivery"

    # -- for tests ---------------------------------------------------------------------------------
    @property
    def messages(self) -> list[EmailMessage]:
        """Every accepted mail, parsed (headers decoded: `m["Subject"]` is the Chinese text)."""
        with self._lock:
            return [c.message for c in self.caught]

    def to(self, address: str) -> list[EmailMessage]:
        """Mails whose envelope included this address."""
        with self._lock:
            return [c.message for c in self.caught if address.lower() in (r.lower() for r in c.rcpt_tos)]

    def subjects(self, address: str | None = None) -> list[str]:
        return [m["Subject"] for m in (self.to(address) if address else self.messages)]

    def clear(self) -> None:
        with self._lock:
            self.caught.clear()

    def start(self) -> SmtpCatcher:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def body_of(mail: EmailMessage) -> str:
    """The decoded text of a caught mail."""
    return mail.get_content()
