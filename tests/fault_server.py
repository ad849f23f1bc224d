"""A fault-injecting SMTP server on 127.0.0.1 for tests: every way a server can go wrong.

Plain sockets and one thread per connection, so a test can make the server stay silent,
greet slowly or with an error, send something that is not SMTP, hang up at a chosen point,
hide STARTTLS or AUTH, answer AUTH and MAIL FROM with a chosen reply, or present a chosen
certificate (trusted, from an untrusted authority, self-signed, for another name, expired,
not yet valid). It binds port 0 on the loopback address only.

Also here: `closed_port()` (a port that refuses connections) and `unanswered_port()` (a
port whose connections are never accepted, so a connect attempt hangs), both on loopback.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import ipaddress
import json
import select
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOOPBACK = "127.0.0.1"
SERVER_NAME = "fault.example.test"
# How long a connection thread waits for the client before giving up on it.
CLIENT_IDLE_SECONDS = 30.0

AUTH_OK = "235 2.7.0 Authentication successful"
MAIL_OK = "250 2.1.0 Sender OK"
MUST_STARTTLS = "530 5.7.0 Must issue a STARTTLS command first"


@dataclass
class FaultConfig:
    """How the server behaves. The defaults are a well-behaved STARTTLS server with AUTH."""

    # "plain": speaks SMTP from the first byte; "implicit_tls": TLS from the first byte.
    transport: str = "plain"
    tls_context: ssl.SSLContext | None = None
    # What happens right after the connection is accepted.
    close_on_connect: bool = False
    silent: bool = False
    greeting_delay: float = 0.0
    greeting: str = f"220 {SERVER_NAME} ESMTP fault server ready"
    close_after_greeting: bool = False
    garbage: bytes | None = None  # sent instead of a greeting
    # The conversation.
    command_delay: float = 0.0  # before every reply to a command
    close_after_ehlo: bool = False
    garbage_after_ehlo: bytes | None = None
    offer_starttls: bool = True
    starttls_reply: str = "220 2.0.0 Ready to start TLS"
    silent_after_starttls: bool = False  # says 220 to STARTTLS, then never handshakes
    offer_auth: bool = True
    auth_only_after_tls: bool = False
    auth_mechanisms: str = "PLAIN LOGIN"
    require_tls: bool = False  # AUTH and MAIL before TLS get MUST_STARTTLS
    auth_reply: str = AUTH_OK
    auth_silent: bool = False  # never answers AUTH
    mail_reply: str = MAIL_OK
    mail_silent: bool = False  # never answers MAIL FROM
    # XOAUTH2 / OAUTHBEARER (list them in auth_mechanisms): a token is accepted only when
    # this says yes for (user, token), e.g. the fake OAuth server's `accepts`.
    oauth_validator: Callable[[str, str], bool] | None = None
    oauth_refusal: str = "535 5.7.3 Authentication unsuccessful"


@dataclass
class FaultLog:
    """What the server saw, for assertions."""

    connections: int = 0
    commands: list[str] = field(default_factory=list)
    auth_attempts: int = 0
    tls_handshakes: int = 0
    oauth_users: list[str] = field(default_factory=list)  # users signed in with a token
    oauth_mechanisms: list[str] = field(default_factory=list)


def _count_connection(log: FaultLog) -> None:
    log.connections += 1


def _count_handshake(log: FaultLog) -> None:
    log.tls_handshakes += 1


def _count_auth(log: FaultLog) -> None:
    log.auth_attempts += 1


class _HangupError(Exception):
    """The scenario says: drop the connection now."""


class FaultServer:
    """A configurable misbehaving SMTP server on 127.0.0.1:<free port>."""

    def __init__(self, config: FaultConfig | None = None, /, **changes: Any) -> None:
        config = config or FaultConfig()
        for name, value in changes.items():
            if not hasattr(config, name):
                raise TypeError(f"unknown fault option {name!r}")
            setattr(config, name, value)
        if config.transport not in {"plain", "implicit_tls"}:
            raise ValueError(config.transport)
        self.config = config
        self.log = FaultLog()
        self.host = LOOPBACK
        self.port = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []

    # Lifecycle ------------------------------------------------------------------------------

    def start(self) -> FaultServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((LOOPBACK, 0))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"fault-accept-{self.port}", daemon=True
        )
        self._accept_thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
        for thread in list(self._threads):
            thread.join(timeout=5)
        for sock in sockets:
            sock.close()

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for(self, condition: Callable[[FaultLog], bool], timeout: float = 5.0) -> None:
        """Block until `condition(self.log)` holds, e.g. the client has sent AUTH."""
        with self._changed:
            if not self._changed.wait_for(lambda: condition(self.log), timeout):
                raise TimeoutError(f"fault server: condition not met within {timeout} s")

    def _note(self, change: Callable[[FaultLog], None]) -> None:
        with self._changed:
            change(self.log)
            self._changed.notify_all()

    # Accepting ------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            # A short select() lets stop() end this loop before the listener is closed.
            readable, _, _ = select.select([self._listener], [], [], 0.05)
            if not readable or self._stop.is_set():
                continue
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._track(conn)
            self._note(_count_connection)
            thread = threading.Thread(
                target=self._serve, args=(conn,), name=f"fault-conn-{self.port}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(CLIENT_IDLE_SECONDS)
        session = _Session(self, conn)
        try:
            session.run()
        except (_HangupError, OSError, ValueError):
            pass
        finally:
            with contextlib.suppress(OSError):
                session.file.close()
                session.sock.close()
                conn.close()


class _Session:
    """One client connection walked through the configured scenario."""

    def __init__(self, server: FaultServer, conn: socket.socket) -> None:
        self.server = server
        self.config = server.config
        self.sock: socket.socket = conn
        self.file: BinaryIO = conn.makefile("rb")
        self.tls = False

    def pause(self, seconds: float) -> None:
        if seconds > 0 and self.server._stop.wait(seconds):
            raise _HangupError

    def send(self, text: str | bytes) -> None:
        data = text if isinstance(text, bytes) else text.encode() + b"\r\n"
        self.sock.sendall(data)

    def read_line(self) -> str:
        line = self.file.readline(8192)
        if not line:
            raise _HangupError
        return line.decode("utf-8", "replace").rstrip("\r\n")

    def wait_for_hangup(self) -> None:
        """Stay connected and say nothing until the client or the test gives up."""
        while self.file.readline(8192):
            pass
        raise _HangupError

    def start_tls(self) -> None:
        context = self.config.tls_context
        if context is None:
            raise ValueError("this scenario needs a tls_context")
        self.file.close()
        secured = context.wrap_socket(self.sock, server_side=True)
        self.server._track(secured)
        self.sock = secured
        self.file = secured.makefile("rb")
        self.tls = True
        self.server._note(_count_handshake)

    def record(self, command: str) -> None:
        self.server._note(lambda log: log.commands.append(command))

    # The scenario -------------------------------------------------------------------------

    def run(self) -> None:
        config = self.config
        if config.close_on_connect:
            raise _HangupError
        if config.transport == "implicit_tls":
            try:
                self.start_tls()
            except ssl.SSLError:
                raise _HangupError from None
        if config.silent:
            self.wait_for_hangup()
        self.pause(config.greeting_delay)
        if config.garbage is not None:
            self.send(config.garbage)
            self.wait_for_hangup()
        self.send(config.greeting)
        if config.close_after_greeting or not config.greeting.startswith("220"):
            raise _HangupError
        while True:
            line = self.read_line()
            verb = line.split(" ", 1)[0].upper()
            self.record(verb if verb == "AUTH" else line)
            self.pause(config.command_delay)
            self.handle(verb, line)

    def handle(self, verb: str, line: str) -> None:
        config = self.config
        if verb == "EHLO":
            if config.close_after_ehlo:
                raise _HangupError
            if config.garbage_after_ehlo is not None:
                self.send(config.garbage_after_ehlo)
                self.wait_for_hangup()
            self.send_lines("250", [SERVER_NAME, *self.capabilities()])
        elif verb == "HELO":
            self.send(f"250 {SERVER_NAME}")
        elif verb == "STARTTLS" and config.offer_starttls and not self.tls:
            self.send(config.starttls_reply)
            if not config.starttls_reply.startswith("220"):
                return
            if config.silent_after_starttls:
                self.wait_for_hangup()
            self.start_tls()
        elif verb == "AUTH":
            self.authenticate(line)
        elif verb == "MAIL":
            if config.require_tls and not self.tls:
                self.send(MUST_STARTTLS)
            elif config.mail_silent:
                self.wait_for_hangup()
            else:
                self.send(config.mail_reply)
        elif verb in {"RSET", "NOOP"}:
            self.send("250 2.0.0 OK")
        elif verb == "QUIT":
            self.send("221 2.0.0 Bye")
            raise _HangupError
        else:
            self.send("500 5.5.2 Command not recognized")

    def capabilities(self) -> list[str]:
        config = self.config
        lines = ["PIPELINING", "8BITMIME"]
        if config.offer_starttls and not self.tls and config.tls_context is not None:
            lines.append("STARTTLS")
        if config.offer_auth and (self.tls or not config.auth_only_after_tls):
            lines.append(f"AUTH {config.auth_mechanisms}")
        return lines

    def send_lines(self, code: str, lines: list[str]) -> None:
        body = [f"{code}-{text}" for text in lines[:-1]] + [f"{code} {lines[-1]}"]
        self.send("\r\n".join(body))

    def authenticate(self, line: str) -> None:
        config = self.config
        self.server._note(_count_auth)
        if config.require_tls and not self.tls:
            self.send(MUST_STARTTLS)
            return
        if config.auth_silent:
            self.wait_for_hangup()
        parts = line.split()
        mechanism = parts[1].upper() if len(parts) > 1 else ""
        offered = config.auth_mechanisms.upper().split()
        if not config.offer_auth or mechanism not in offered:
            self.send("504 5.5.4 Unrecognized authentication type")
            return
        if mechanism in {"XOAUTH2", "OAUTHBEARER"}:
            self.authenticate_oauth(mechanism, parts)
            return
        if mechanism == "LOGIN":
            prompts = ["Username:", "Password:"][len(parts) - 2 :]
            for prompt in prompts:
                self.send(f"334 {base64.b64encode(prompt.encode()).decode()}")
                self.read_line()
        elif mechanism == "PLAIN" and len(parts) == 2:
            self.send("334 ")
            self.read_line()
        elif mechanism == "CRAM-MD5":
            self.send(f"334 {base64.b64encode(b'<1.2@fault.example.test>').decode()}")
            self.read_line()
        self.send(config.auth_reply)


    def authenticate_oauth(self, mechanism: str, parts: list[str]) -> None:
        """SASL XOAUTH2 (Google's and Microsoft's) or OAUTHBEARER (RFC 7628)."""
        config = self.config
        if len(parts) > 2:
            response = parts[2]
        else:
            self.send("334 ")
            response = self.read_line()
        try:
            text = base64.b64decode(response, validate=True).decode("utf-8")
        except ValueError:
            self.send("501 5.5.2 Cannot decode response")
            return
        fields = dict(
            item.split("=", 1) for item in text.split("\x01") if "=" in item
        )
        if mechanism == "XOAUTH2":
            user = fields.get("user", "")
        else:
            gs2 = text.split("\x01", 1)[0]  # "n,a=user,"
            user = gs2.split(",")[1].removeprefix("a=").replace("=2C", ",").replace("=3D", "=")
        token = fields.get("auth", "").removeprefix("Bearer ")
        self.server._note(lambda log: log.oauth_mechanisms.append(mechanism))
        if config.oauth_validator is not None and config.oauth_validator(user, token):
            self.server._note(lambda log: log.oauth_users.append(user))
            self.send(AUTH_OK)
            return
        error = {"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"}
        self.send(f"334 {base64.b64encode(json.dumps(error).encode()).decode()}")
        self.read_line()  # the client's empty line (XOAUTH2) or %x01 (OAUTHBEARER)
        self.send(config.oauth_refusal)


# Certificates ------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def server_context_for(leaf: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    return context


def trusted_context(ca: trustme.CA) -> ssl.SSLContext:
    """Issued by the authority the checks trust, for 127.0.0.1 and localhost."""
    return server_context_for(ca.issue_cert(LOOPBACK, "localhost"))


def private_authority_context() -> ssl.SSLContext:
    """Issued by an authority nobody trusts (a company's private CA)."""
    return server_context_for(trustme.CA().issue_cert(LOOPBACK, "localhost"))


def wrong_name_context(ca: trustme.CA) -> ssl.SSLContext:
    return server_context_for(ca.issue_cert("mail.other-name.test"))


def expired_context(ca: trustme.CA) -> ssl.SSLContext:
    now = _now()
    leaf = ca.issue_cert(
        LOOPBACK, "localhost",
        not_before=now - dt.timedelta(days=30), not_after=now - dt.timedelta(days=1),
    )
    return server_context_for(leaf)


def not_yet_valid_context(ca: trustme.CA) -> ssl.SSLContext:
    now = _now()
    leaf = ca.issue_cert(
        LOOPBACK, "localhost",
        not_before=now + dt.timedelta(days=1), not_after=now + dt.timedelta(days=30),
    )
    return server_context_for(leaf)


def self_signed_pem(common_name: str = SERVER_NAME) -> tuple[bytes, bytes]:
    """A certificate signed by its own key, as a small server's default setup makes."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def self_signed_context(tmp_dir: str) -> ssl.SSLContext:
    cert_pem, key_pem = self_signed_pem()
    cert_path = f"{tmp_dir}/self-signed.pem"
    with open(cert_path, "wb") as out:
        out.write(cert_pem + key_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path)
    return context


# Ports that misbehave at the TCP level -----------------------------------------------------


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port that answers every connection attempt with a refusal.

    The socket is bound but never listens, so the port stays ours (no other test can take
    it) and the kernel refuses connections to it.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOOPBACK, 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@contextlib.contextmanager
def unanswered_port() -> Iterator[int]:
    """A loopback port where a connection attempt hangs, like a firewall that drops packets.

    The listener has the smallest backlog and never accepts; once its queue is full the
    kernel silently drops further connection requests, so connect() waits for an answer
    that does not come. Fillers are added until one does not complete.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((LOOPBACK, 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers: list[socket.socket] = []
    try:
        for _ in range(16):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            fillers.append(filler)
            filler.connect_ex(address)
            _, writable, _ = select.select([], [filler], [], 0.3)
            if not writable:
                break
        else:
            raise RuntimeError("could not fill the listen queue of a loopback socket")
        yield address[1]
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
