"""Mail transports: SMTP (STARTTLS, TLS or plain, with AUTH) and a folder of `.eml` files.

A transport sends one `Message` to one recipient and returns the server's answer, or raises
`DeliveryError` saying whether trying again could help.
"""

from __future__ import annotations

import contextlib
import email.charset
import hashlib
import os
import smtplib
import ssl
import threading
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import formataddr, formatdate, parseaddr
from pathlib import Path
from typing import Protocol

from monitor.config.settings import EmailSettings
from monitor.errors import DeliveryError


class Transport(Protocol):
    def send(self, message: Message, recipient: str) -> str: ...

    def close(self) -> None: ...


def build_message(
    *,
    sender: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    message_id: str,
    headers: dict[str, str] | None = None,
) -> Message:
    """multipart/alternative with a plain-text and an HTML part, both UTF-8 quoted-printable.

    Built with the `email.mime` classes: `EmailMessage` parses every header it is given back
    through its header registry, which took two thirds of the time of an alert.
    """
    # "=_" never occurs in quoted-printable text (it writes "=" as "=3D"), so the boundary
    # need not be searched for in the parts, which the generator does with a regex per message.
    boundary = "=_monitor_" + hashlib.sha256(message_id.encode()).hexdigest()[:16]
    message = MIMEMultipart("alternative", boundary=boundary, policy=_WIRE)
    message["From"] = _address(sender)
    message["To"] = _address(recipient)
    if subject.isascii() and "=?" not in subject:
        message["Subject"] = subject
    else:  # encoded words, folded with the header's name counted: a page's title that
        # holds an encoded word of its own is shown as written, not decoded by the reader
        message["Subject"] = Header(subject, "utf-8", header_name="Subject")  # type: ignore[assignment]
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        message[name] = value
    message.attach(MIMEText(text, "plain", _UTF8_QP))  # type: ignore[arg-type]
    message.attach(MIMEText(html, "html", _UTF8_QP))  # type: ignore[arg-type]
    return message


class _Wire(Compat32):
    """compat32 with CRLF line ends (`smtplib` sends bytes as they are, and servers read lines
    by CRLF), writing a short ASCII header as it is instead of through `email.header.Header`,
    which is what compat32 would produce for it, at a tenth of the cost."""

    def fold_binary(self, name: str, value: str) -> bytes:
        line = f"{name}: {value}"
        if isinstance(value, str) and line.isascii() and len(line) <= 76 and line.isprintable():
            return (line + self.linesep).encode("ascii")
        return super().fold_binary(name, value)


_WIRE = _Wire(linesep="\r\n")
_UTF8_QP = email.charset.Charset("utf-8")
_UTF8_QP.body_encoding = email.charset.QP


def _address(value: str) -> str:
    """An address for a header; a display name outside ASCII is encoded."""
    if value.isascii():
        return value
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8")


class SmtpTransport:
    """One SMTP connection, opened on the first message and reused for the rest of a round."""

    def __init__(self, settings: EmailSettings, *, timeout: float = 30.0) -> None:
        assert settings.host is not None
        self.settings = settings
        self.timeout = timeout
        self._conn: smtplib.SMTP | None = None

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.settings.ca_file is not None:
            context.load_verify_locations(cafile=str(self.settings.ca_file))
        return context

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        assert s.host is not None
        password = None
        if s.username:
            password = os.environ.get(s.password_env or "")
            if password is None:
                raise DeliveryError(
                    f"email.password_env: environment variable {s.password_env!r} is not set",
                    connection=True,
                )
        try:
            # smtplib closes the socket itself when connecting or the greeting fails ...
            conn: smtplib.SMTP = (
                smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout, context=self._context())
                if s.security == "tls"
                else smtplib.SMTP(s.host, s.port, timeout=self.timeout)
            )
        except (OSError, smtplib.SMTPException) as exc:
            hint = _connect_hint(s.security, exc)
            raise DeliveryError(
                f"cannot reach SMTP server {s.host}:{s.port}: {exc}{hint}", connection=True
            ) from None
        # ... but not when STARTTLS or the login fails: then it is ours to close, not the
        # garbage collector's.
        try:
            if s.security == "starttls":
                conn.starttls(context=self._context())
            if s.username and password is not None:
                conn.login(s.username, password)
        except smtplib.SMTPAuthenticationError as exc:
            conn.close()
            raise DeliveryError(f"SMTP login refused: {_answer(exc)}", connection=True) from None
        except smtplib.SMTPNotSupportedError as exc:
            conn.close()
            if "STARTTLS" in str(exc):
                fix = (
                    'set email.security = "tls" if this port expects TLS from the start (465), '
                    'or "none" on a network you trust'
                )
            else:  # no AUTH offered, often until STARTTLS
                fix = 'set email.security = "starttls" or "tls", or remove email.username'
            raise DeliveryError(
                f"SMTP server {s.host}:{s.port}: {exc} {fix}", connection=True
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            conn.close()
            raise DeliveryError(
                f"cannot reach SMTP server {s.host}:{s.port}: {exc}", connection=True
            ) from None
        except BaseException:
            conn.close()
            raise
        return conn

    def send(self, message: Message, recipient: str) -> str:
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        try:
            conn.ehlo_or_helo_if_needed()
            code, answer = conn.mail(self.settings.sender)
            if code >= 400:
                # Every message of the round has this sender and this session: a refusal here
                # ("530 Authentication required", "530 Must issue a STARTTLS command first",
                # the sender's domain refused) is the settings', never one message's. The
                # round ends and the alerts wait, as for a refused login.
                self._reset()
                raise DeliveryError(
                    f"sender refused: {code} {_text(answer)}{_hint(code, answer)}",
                    connection=True,
                )
            code, answer = conn.rcpt(recipient)
            if code >= 400:
                self._reset()
                raise DeliveryError(
                    f"recipient {recipient} refused: {code} {_text(answer)}", permanent=code >= 500
                )
            code, answer = conn.data(message.as_bytes())
        except smtplib.SMTPDataError as exc:
            # The server answered DATA itself with an error: it is up and has judged this
            # message, so this is the message's failure, not a lost connection.
            self._reset()
            raise DeliveryError(
                f"message refused: {_answer(exc)}", permanent=exc.smtp_code >= 500
            ) from None
        except DeliveryError:
            raise
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise DeliveryError(f"SMTP connection lost: {exc}", connection=True) from None
        if code >= 400:
            raise DeliveryError(f"message refused: {code} {_text(answer)}", permanent=code >= 500)
        return f"{code} {_text(answer)}"

    def _reset(self) -> None:
        """Abandon the refused transaction; a connection that cannot even do that is dropped.

        Whatever happens here, the caller reports the refusal it saw: the next message opens
        a new connection, so a failed RSET never turns a refused recipient into a retry.
        """
        conn = self._conn
        if conn is None:
            return
        try:
            code, _ = conn.rset()
        except (OSError, smtplib.SMTPException):
            code = 0
        if not 200 <= code < 300:
            self._conn = None
            conn.close()

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (OSError, smtplib.SMTPException):
                self._conn.close()
            self._conn = None


def _answer(exc: smtplib.SMTPResponseException) -> str:
    error = exc.smtp_error
    text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
    return f"{exc.smtp_code} {text}"


def _text(answer: bytes) -> str:
    return answer.decode(errors="replace")


# OpenSSL's reasons for a handshake answered by something that is not TLS.
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"})


def _connect_hint(security: str, exc: BaseException) -> str:
    """The setting a failed connection most likely lacks, from how it failed."""
    if isinstance(exc, ssl.SSLError) and getattr(exc, "reason", None) in _NOT_TLS:
        return (
            " (the server did not answer with TLS: if this is a plain or STARTTLS port, as "
            '587 and 25 are, set email.security = "starttls")'
        )
    if security != "tls" and "timed out" in str(exc):
        # A server that expects TLS from the start waits for it and says nothing.
        return (
            " (no greeting: if this port expects TLS from the start, as 465 does, set "
            'email.security = "tls")'
        )
    return ""


def _hint(code: int, answer: bytes) -> str:
    """The setting a refused sender most likely lacks, from the server's words."""
    text = _text(answer).lower()
    if "starttls" in text or "tls" in text.split():
        return ' (the server wants TLS first: set email.security = "starttls")'
    if code == 530 or "auth" in text:
        return " (the server wants a login: set email.username and email.password_env)"
    return ""


class FolderTransport:
    """With no mail server configured: each message becomes an `.eml` file in a folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: Message, recipient: str) -> str:
        try:
            name = str(message["Message-ID"]).strip("<>").replace("@", "_").replace("/", "_")
            path = self.folder / f"{name}.eml"
            # Written whole or not at all: a crash leaves no half message for a reader.
            temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            data = message.as_bytes()
            try:
                temporary.write_bytes(data)
            except FileNotFoundError:  # the folder is made by the first message (or again)
                self.folder.mkdir(parents=True, exist_ok=True)
                temporary.write_bytes(data)
            temporary.replace(path)
        except OSError as exc:
            # a full disk leaves part of the message written: no half file stays behind
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise DeliveryError(f"cannot write to {self.folder}: {exc}", connection=True) from None
        return f"written to {path}"

    def close(self) -> None:
        pass


def build_transport(settings: EmailSettings) -> Transport:
    if settings.host is None:
        return FolderTransport(settings.outbox)
    return SmtpTransport(settings)
