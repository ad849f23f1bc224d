"""A real SMTP server on 127.0.0.1 for tests: aiosmtpd with AUTH, STARTTLS or implicit TLS.

It binds to port 0 (so tests never collide) and runs its own event loop on a thread. The
certificates come from trustme; the client side trusts them through the CA file.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class Mailbox:
    """What the server accepts and what it saw."""

    users: dict[str, str] = field(default_factory=dict)
    # Senders each user may use; a user not listed may send as any address.
    senders: dict[str, set[str]] = field(default_factory=dict)
    auth_attempts: list[tuple[str, str]] = field(default_factory=list)
    messages: list[Envelope] = field(default_factory=list)
    mail_from_seen: list[str] = field(default_factory=list)


class _Handler:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        mail_options: list[str],
    ) -> str:
        self.mailbox.mail_from_seen.append(address)
        user = session.auth_data.login.decode() if session.auth_data else None
        allowed = self.mailbox.senders.get(user or "")
        if allowed is not None and address.lower() not in allowed:
            return f"553 5.7.1 <{address}>: Sender address rejected: not owned by user {user}"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.mailbox.messages.append(envelope)
        return "250 Message accepted"


class _Authenticator:
    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8")
        password = auth_data.password.decode("utf-8")
        self.mailbox.auth_attempts.append((user, mechanism))
        ok = self.mailbox.users.get(user) == password
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class LocalSmtpServer:
    """aiosmtpd on 127.0.0.1:<free port>, in one of three modes: ssl, starttls, plain."""

    def __init__(
        self,
        mode: str,
        tls_context: ssl.SSLContext | None = None,
        users: dict[str, str] | None = None,
        senders: dict[str, Iterable[str]] | None = None,
        offer_auth: bool = True,
    ) -> None:
        if mode not in {"ssl", "starttls", "plain"}:
            raise ValueError(mode)
        self.mode = mode
        self.tls_context = tls_context
        self.mailbox = Mailbox(
            users=dict(users or {}),
            senders={k: {a.lower() for a in v} for k, v in (senders or {}).items()},
        )
        self.offer_auth = offer_auth
        self.host = "127.0.0.1"
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def _factory(self) -> SMTP:
        kwargs: dict[str, Any] = {
            "hostname": "mail.example.test",
            # Implicit TLS is already encrypted; aiosmtpd only knows about STARTTLS.
            "auth_require_tls": self.mode == "starttls",
            "enable_SMTPUTF8": True,
        }
        if self.offer_auth:
            kwargs["authenticator"] = _Authenticator(self.mailbox)
            kwargs["auth_required"] = True
        else:
            # aiosmtpd lists AUTH only after STARTTLS when TLS is required for it, so
            # without STARTTLS this server never offers AUTH at all.
            kwargs["auth_require_tls"] = True
        if self.mode == "starttls":
            kwargs["tls_context"] = self.tls_context
            kwargs["require_starttls"] = True
        with warnings.catch_warnings():
            # aiosmtpd warns about AUTH without STARTTLS, which is what ssl mode is.
            warnings.simplefilter("ignore")
            return SMTP(_Handler(self.mailbox), loop=self._loop, **kwargs)

    def start(self) -> LocalSmtpServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, 0))
        self.port = listener.getsockname()[1]
        ssl_arg = self.tls_context if self.mode == "ssl" else None
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            self._loop.create_server(self._factory, sock=listener, ssl=ssl_arg), self._loop
        )
        self._server = future.result(timeout=10)
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
                await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> LocalSmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
