"""Recipients, SMTP servers and sending: one message per recipient, failures per recipient."""

from __future__ import annotations

import argparse
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr

from site_builder.errors import ContentError, Problem, problem, source_problem

TIMEOUT = 30  # seconds, for each SMTP operation


def address_problem(value: str) -> str:
    address = parseaddr(value)[1]
    if not address or "@" not in address or address.startswith("@") or address.endswith("@"):
        return f"'{value}' is not an email address"
    return ""


def read_recipients(args: argparse.Namespace) -> list[str]:
    """--to addresses, then --to-file lines (blank lines and # comments skipped), deduplicated."""
    found = [(address, "--to", 0) for address in args.to]  # (address, where, line)
    if args.to_file:
        try:
            lines = args.to_file.read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ContentError([problem(args.to_file, f"cannot read recipients: {exc}")]) from None
        found += [(line.strip(), args.to_file, number) for number, line in enumerate(lines, 1)
                  if line.strip() and not line.strip().startswith("#")]
    problems = [source_problem(where, address_problem(address), number)
                for address, where, number in found if address_problem(address)]
    if problems:
        raise ContentError(problems)
    return list(dict.fromkeys(address for address, _where, _line in found))


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    use_ssl: bool = False
    starttls: bool = False

    @property
    def label(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def connect(self) -> smtplib.SMTP:
        """A connected (and logged-in, when SMTP_USER is set) session, or a ContentError."""
        smtp: smtplib.SMTP | None = None
        try:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT,
                                    context=ssl.create_default_context()) if self.use_ssl \
                else smtplib.SMTP(self.host, self.port, timeout=TIMEOUT)
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            user = os.environ.get("SMTP_USER", "")
            if user and not (self.use_ssl or self.starttls):
                smtp.ehlo_or_helo_if_needed()
                if not smtp.has_extn("auth") and smtp.has_extn("starttls"):
                    close(smtp)
                    raise ContentError([source_problem(
                        self.label, "the server offers login (SMTP_USER) only over TLS: add "
                        "--starttls (or --ssl for a server on port 465)")])
            if user:
                smtp.login(user, os.environ.get("SMTP_PASSWORD", ""))
            return smtp
        except (OSError, smtplib.SMTPException) as exc:
            close(smtp)
            why = "the server refused the login of SMTP_USER ({})" if isinstance(
                exc, smtplib.SMTPAuthenticationError) else "cannot connect to the SMTP server: {}"
            raise ContentError([source_problem(self.label, why.format(smtp_reason(exc)))]) \
                from None


def close(smtp: smtplib.SMTP | None) -> None:
    try:
        if smtp is not None:
            smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def smtp_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"{exc.verify_message or exc} (the server's certificate is not signed by an "
                "authority this machine trusts; SSL_CERT_FILE can name one)")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {text.decode(errors='replace')}"
                         for code, text in exc.recipients.values()) or "refused"
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(
            exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def parse_server(value: str, use_ssl: bool, starttls: bool) -> SmtpServer | str:
    """``HOST:PORT`` (``[::1]:25`` for IPv6) as a server, or an error message."""
    host, _sep, port_text = value.rpartition(":")
    if not _sep:
        host, port_text = value, str(465 if use_ssl else 587 if starttls else 25)
    host = host.strip("[]")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        return f"--smtp '{value}' is not HOST:PORT"
    return SmtpServer(host, int(port_text), use_ssl, starttls)


@dataclass
class Session:
    """One SMTP session for a run: opened when the first message goes out, and again after the
    server dropped it."""

    server: SmtpServer
    sender: str
    smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage, recipient: str) -> str:
        """'' when sent, else why not; a ContentError when the server cannot be reached."""
        if self.smtp is None:
            self.smtp = self.server.connect()
        del message["To"]
        message["To"] = recipient
        try:
            self.smtp.send_message(message, from_addr=parseaddr(self.sender)[1],
                                   to_addrs=[parseaddr(recipient)[1]])
        except (smtplib.SMTPException, OSError) as exc:
            if isinstance(exc, (smtplib.SMTPServerDisconnected, OSError)):
                self.close()
            return smtp_reason(exc)
        return ""

    def close(self) -> None:
        close(self.smtp)
        self.smtp = None


def send_all(message: EmailMessage, sender: str, recipients: list[str],
             server: SmtpServer) -> list[Problem]:
    """One message per recipient over one connection; the failures, reported per recipient."""
    failures: list[Problem] = []
    session = Session(server, sender, server.connect())
    try:
        for recipient in recipients:
            try:
                reason = session.send(message, recipient)
            except ContentError as exc:  # reconnecting failed
                reason = exc.problems[0].message
            if reason:
                failures.append(source_problem(server.label, f"{recipient}: not sent: {reason}"))
            else:
                print(f"sent to {recipient}")
    finally:
        session.close()
    return failures
