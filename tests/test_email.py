"""The email command: digest feed -> .eml file or SMTP (a real server on 127.0.0.1)."""

from __future__ import annotations

import contextlib
import email
import html
import socket
import ssl
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from site_builder.cli import main
from site_builder.email.digest import DigestParser
from tests.test_feeds import BASE, DAY_ORDER, HOSTILE_TITLE, TEMPLATES, build_into, write_content

TITLES = {  # plain titles of the papers of 2026-04-21, as in the content
    "scaling-laws": "Scaling $x^2$ Laws", "hostile": HOSTILE_TITLE,
    "acme-images": "Acme Images at Scale", "quiet-paper": "Quiet Paper",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("email-site")
    content = write_content(root / "content")
    out = build_into(content, root / "out")
    return content, out / "digest.xml"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["email", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def email_args(site, *extra: str) -> list[str]:
    content, digest = site
    return ["--feed", str(digest), "--content", str(content), "--templates", str(TEMPLATES),
            *extra]


def read_eml(path: Path) -> EmailMessage:
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content()
    html_part = message.get_body(("html",)).get_content()
    return text, html_part


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the message ----------------------------------------------------------------------------

def test_eml_has_both_parts_subject_and_every_title_of_the_day(site, tmp_path, capsys):
    out = tmp_path / "day.eml"
    code, _stdout, err = run(capsys, *email_args(site, "--date", "2026-04-21", "--out", str(out)))
    assert code == 0, err
    message = read_eml(out)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Subject"] == "Test Papers — Tue 21 Apr 2026: 4 papers"
    assert message["List-Unsubscribe"] == "<mailto:unsubscribe@example.org>"
    assert message["Message-ID"].startswith("<digest-2026-04-21.")
    assert message["Message-ID"].endswith("@example.org>")
    text, body = parts(message)
    unescaped = html.unescape(body)
    for title in TITLES.values():
        assert title in text and title in unescaped
    positions = [text.index(TITLES[i]) for i in DAY_ORDER["2026-04-21"]]
    assert positions == sorted(positions)  # top first, as on the site
    for paper_id in TITLES:
        assert f"{BASE}papers/{paper_id}/" in text and f"{BASE}papers/{paper_id}/" in body
    assert "Grace Hopper, Edsger Dijkstra, Barbara Liskov, Donald Knuth, John McCarthy and 2 " \
           "more" in " ".join(text.split())  # the text part is wrapped at 78 characters
    assert "14 authors" in text and "Acme Research" in text and "▲ 41" in text
    assert "Code (★ 1,234): https://github.com/acme/scaling" in text
    assert "Read Scaling first." in text and "Sent by the test suite." in text
    assert "Editor&#39;s pick" in body or "Editor's pick" in body or "Editor&#x27;s" in body


def test_html_part_has_inlined_css_and_a_table_layout(site, tmp_path, capsys):
    out = tmp_path / "day.eml"
    assert run(capsys, *email_args(site, "--out", str(out)))[0] == 0
    body = parts(read_eml(out))[1]
    assert "<style" not in body  # css-inline moved it into style attributes
    assert 'role="presentation"' in body and "<table" in body
    assert 'style="' in body and "padding: 18px 28px" in body
    assert 'href="https://blog.example.org/"' in body  # the editor's note keeps its link
    lowered = body.lower()
    assert "<script" not in lowered and "onerror" not in lowered and "javascript:" not in lowered
    assert html.escape(HOSTILE_TITLE, quote=False) in body


def test_latest_is_the_default_and_the_message_id_is_stable(site, tmp_path, capsys):
    first, second, dated = tmp_path / "a.eml", tmp_path / "b.eml", tmp_path / "c.eml"
    assert run(capsys, *email_args(site, "--out", str(first)))[0] == 0
    assert run(capsys, *email_args(site, "--latest", "--out", str(second)))[0] == 0
    assert run(capsys, *email_args(site, "--date", "2026-04-20", "--out", str(dated)))[0] == 0
    assert read_eml(first)["Message-ID"] == read_eml(second)["Message-ID"]
    assert read_eml(first)["Subject"] == "Test Papers — Tue 21 Apr 2026: 4 papers"
    older = read_eml(dated)
    assert older["Subject"] == "Test Papers — Mon 20 Apr 2026: 2 papers"
    assert older["Message-ID"] != read_eml(first)["Message-ID"]
    assert "Diffusion for Images" in parts(older)[0]


def test_saved_search_keeps_only_matching_papers(site, tmp_path, capsys):
    out = tmp_path / "vision.eml"
    code, _o, err = run(capsys, *email_args(site, "--saved-search", "vision", "--out", str(out)))
    assert code == 0, err
    message = read_eml(out)
    assert message["Subject"] == "Test Papers: Vision papers — Tue 21 Apr 2026: 1 paper"
    text = parts(message)[0]
    assert "Acme Images at Scale" in text and "Scaling $x^2$ Laws" not in text
    everything = tmp_path / "all.eml"
    run(capsys, *email_args(site, "--out", str(everything)))
    assert message["Message-ID"] != read_eml(everything)["Message-ID"]
    popular = tmp_path / "popular.eml"
    assert run(capsys, *email_args(site, "--saved-search", "acme-popular",
                                   "--out", str(popular)))[0] == 0
    text = parts(read_eml(popular))[0]  # organisation acme and at least 5 upvotes
    assert "Scaling $x^2$ Laws" in text and "Acme Images at Scale" not in text


def test_saved_search_without_matches_sends_nothing(site, tmp_path, capsys):
    out = tmp_path / "none.eml"
    code, _o, err = run(capsys, *email_args(site, "--saved-search", "diffusion",
                                            "--out", str(out)))
    assert code == 0 and "nothing to send" in err and not out.exists()


def test_digest_parser_reads_back_every_field(site):
    import feedparser

    entry = feedparser.parse(site[1].read_bytes()).entries[0]
    parser = DigestParser()
    parser.feed(entry.content[0].value)
    papers = {p.url: p for p in parser.papers}
    scaling = papers[f"{BASE}papers/scaling-laws/"]
    assert scaling.title == "Scaling $x^2$ Laws" and scaling.upvotes == 41
    assert scaling.authors[0] == "Grace Hopper" and len(scaling.authors) == 7
    assert (scaling.org_name, scaling.org_label) == ("acme", "Acme Research")
    assert scaling.topics == [("theory", "Theory", f"{BASE}topics/theory/")]
    assert [kind for kind, _label, _url in scaling.links] == [
        "paper", "pdf", "code", "arxiv", "project"]
    assert scaling.abstract.startswith("Loss falls as $x^2$ grows.")
    quiet = papers[f"{BASE}papers/quiet-paper/"]
    assert quiet.author_count == 14 and quiet.authors == [] and quiet.org_name == ""
    assert parser.note_paragraphs == ["Editor's pick", "Read Scaling first.",
                                      "More on our blog."]


# -- errors ---------------------------------------------------------------------------------

def test_a_day_without_digest_item_is_a_clear_error(site, tmp_path, capsys):
    out = tmp_path / "x.eml"
    code, _o, err = run(capsys, *email_args(site, "--date", "2026-01-01", "--out", str(out)))
    assert code == 1 and not out.exists()
    assert "no digest item for 2026-01-01" in err and "2026-04-21, 2026-04-20" in err
    assert "Traceback" not in err


def test_skip_missing_day_exits_0_without_sending(site, tmp_path, capsys):
    """For a daily schedule: a day without listing (a weekend) is not an error then."""
    out = tmp_path / "x.eml"
    code, _o, err = run(capsys, *email_args(site, "--date", "2026-04-25", "--out", str(out)),
                        "--skip-missing")
    assert code == 0, err
    assert "no digest item for 2026-04-25" in err and not out.exists()


def test_without_skip_missing_a_missing_day_is_an_error(site, tmp_path, capsys):
    out = tmp_path / "x.eml"
    code, _o, err = run(capsys, *email_args(site, "--date", "2026-04-25", "--out", str(out)))
    assert code == 1 and "no digest item for 2026-04-25" in err and not out.exists()


@pytest.mark.parametrize("feed, message", [
    ("missing.xml", "feed file not found"),
    ("page.html", "not a readable RSS or Atom feed"),
    ("feed.xml", "lists no papers in the digest format"),
])
def test_unreadable_or_wrong_feeds_are_clear_errors(site, tmp_path, capsys, feed, message):
    (tmp_path / "page.html").write_text("<html><body>not a feed</body></html>", "utf-8")
    path = site[1].parent / feed if feed == "feed.xml" else tmp_path / feed
    code, _o, err = run(capsys, "--feed", str(path), "--templates", str(TEMPLATES),
                        "--content", str(tmp_path / "none"), "--out", str(tmp_path / "x.eml"))
    assert code == 1 and message in err and "Traceback" not in err


def test_unknown_saved_search_names_site_yaml(site, tmp_path, capsys):
    code, _o, err = run(capsys, *email_args(site, "--saved-search", "nope",
                                            "--out", str(tmp_path / "x.eml")))
    assert code == 1 and "site.yaml" in err and "no saved search 'nope'" in err
    assert "vision, acme-popular, diffusion" in err


def test_defaults_without_a_content_folder(site, tmp_path, capsys):
    out = tmp_path / "x.eml"
    code, _o, err = run(capsys, "--feed", str(site[1]), "--templates", str(TEMPLATES),
                        "--content", str(tmp_path / "missing"), "--out", str(out))
    assert code == 0, err
    message = read_eml(out)
    assert message["Subject"] == "Test Papers — Tue 21 Apr 2026: 4 papers"  # title: the feed's
    assert message["List-Unsubscribe"] is None


def test_usage_errors_exit_2(site, capsys):
    code, _o, err = run(capsys, *email_args(site, "--smtp", "127.0.0.1:25", "--to", "a@b.org"))
    assert code == 2 and "--from" in err
    code, _o, err = run(capsys, *email_args(site, "--smtp", "127.0.0.1:25", "--from", "x@y.org"))
    assert code == 2 and "--to" in err
    code, _o, err = run(capsys, *email_args(site, "--smtp", "localhost:port", "--from",
                                            "x@y.org", "--to", "a@b.org"))
    assert code == 2 and "HOST:PORT" in err


def test_bad_recipient_file_names_file_and_line(site, tmp_path, capsys):
    recipients = tmp_path / "to.txt"
    recipients.write_text("ok@example.org\n\nnot-an-address\n", "utf-8")
    code, _o, err = run(capsys, *email_args(site, "--smtp", "127.0.0.1:25", "--from",
                                            "x@example.org", "--to-file", str(recipients)))
    assert code == 1 and "to.txt:3:" in err and "not-an-address" in err


def test_unreachable_smtp_server_is_a_clear_error(site, capsys):
    port = free_port()  # nothing listens there
    code, _o, err = run(capsys, *email_args(site, "--smtp", f"127.0.0.1:{port}", "--from",
                                            "papers@example.org", "--to", "a@example.org"))
    assert code == 1
    assert f"smtp://127.0.0.1:{port}: cannot connect to the SMTP server" in err
    assert "Traceback" not in err


# -- sending to a real SMTP server ----------------------------------------------------------

class Recorder:
    """An aiosmtpd handler that keeps every message and refuses 'reject' recipients."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes, bool]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "reject" in address:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos),
                              envelope.original_content or envelope.content,
                              bool(session.authenticated)))
        return "250 Message accepted"


def check_login(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login, auth_data.password) == (b"papers", b"s3cret")
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@pytest.fixture
def smtp():
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port,
                            authenticator=check_login, auth_require_tls=False)
    controller.start()
    yield recorder, port
    controller.stop()


def received_message(data: bytes) -> EmailMessage:
    return email.message_from_bytes(data, policy=policy.default)


def test_send_one_message_per_recipient(site, smtp, capsys, monkeypatch):
    monkeypatch.delenv("SMTP_USER", raising=False)
    recorder, port = smtp
    code, out, err = run(capsys, *email_args(site, "--smtp", f"127.0.0.1:{port}",
                                             "--from", "papers@example.org",
                                             "--to", "ada@example.org",
                                             "--to", "alan@example.org"))
    assert code == 0, err
    assert "sent to ada@example.org" in out and "sent to alan@example.org" in out
    assert "sent 2 of 2 messages" in err
    assert [(frm, to) for frm, to, _d, _a in recorder.received] == [
        ("papers@example.org", ["ada@example.org"]),
        ("papers@example.org", ["alan@example.org"])]
    first, second = (received_message(data) for _f, _t, data, _a in recorder.received)
    assert first["To"] == "ada@example.org" and second["To"] == "alan@example.org"
    assert first["From"] == "Papers Bot <papers@example.org>"
    assert first["Subject"] == "Test Papers — Tue 21 Apr 2026: 4 papers"
    assert first["Message-ID"] == second["Message-ID"]
    assert first.get_content_type() == "multipart/alternative"
    for title in TITLES.values():
        assert title in parts(first)[0]


def test_to_file_sends_to_each_recipient_and_reports_failures(site, smtp, tmp_path, capsys,
                                                              monkeypatch):
    monkeypatch.delenv("SMTP_USER", raising=False)
    recorder, port = smtp
    recipients = tmp_path / "subscribers.txt"
    recipients.write_text("# subscribers\none@example.org\n\nreject-me@example.org\n"
                          "Two <two@example.org>\none@example.org\n", "utf-8")
    code, out, err = run(capsys, *email_args(site, "--smtp", f"127.0.0.1:{port}", "--from",
                                             "papers@example.org", "--to-file",
                                             str(recipients)))
    assert code == 1
    assert [to for _f, to, _d, _a in recorder.received] == [["one@example.org"],
                                                            ["two@example.org"]]
    assert "sent to one@example.org" in out and "sent to Two <two@example.org>" in out
    assert "reject-me@example.org: not sent: 550 5.1.1 no such mailbox" in err
    assert "sent 2 of 3 messages" in err and "Traceback" not in err


def test_credentials_come_from_the_environment(site, smtp, capsys, monkeypatch):
    recorder, port = smtp
    args = email_args(site, "--smtp", f"127.0.0.1:{port}", "--from", "papers@example.org",
                      "--to", "ada@example.org")
    monkeypatch.setenv("SMTP_USER", "papers")
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret")
    assert run(capsys, *args)[0] == 0
    assert recorder.received[-1][3] is True  # the session was authenticated
    monkeypatch.setenv("SMTP_PASSWORD", "wrong")
    code, _o, err = run(capsys, *args)
    assert code == 1 and "refused the login of SMTP_USER" in err and "wrong" not in err
    assert len(recorder.received) == 1


# -- TLS: what every real SMTP provider requires ---------------------------------------------

@pytest.fixture(scope="module")
def certificate_authority():
    return trustme.CA()


@pytest.fixture
def tls_server(certificate_authority, tmp_path, monkeypatch):
    """A certificate for 127.0.0.1 from a test authority, which the sender trusts (through
    SSL_CERT_FILE, as a system with that authority installed would)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("127.0.0.1").configure_cert(context)
    authority = tmp_path / "authority.pem"
    certificate_authority.cert_pem.write_to_path(str(authority))
    monkeypatch.setenv("SSL_CERT_FILE", str(authority))
    monkeypatch.setenv("SMTP_USER", "papers")
    monkeypatch.setenv("SMTP_PASSWORD", "s3cret")
    return context


@contextlib.contextmanager
def smtp_server(**options):
    """An aiosmtpd server on 127.0.0.1 with these Controller options: (recorder, port)."""
    recorder, port = Recorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port,
                            authenticator=check_login, **options)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


def send_one(capsys, site, port: int, *options: str) -> tuple[int, str, str]:
    return run(capsys, *email_args(site, "--smtp", f"127.0.0.1:{port}", *options,
                                   "--from", "papers@example.org", "--to", "ada@example.org"))


def test_starttls_upgrades_the_connection_before_logging_in(site, tls_server, capsys):
    # login only over TLS (aiosmtpd's default)
    with smtp_server(tls_context=tls_server, require_starttls=True) as (recorder, port):
        code, out, err = send_one(capsys, site, port, "--starttls")
    assert code == 0, err
    assert "sent to ada@example.org" in out
    assert [(to, authenticated) for _f, to, _d, authenticated in recorder.received] == [
        (["ada@example.org"], True)]


def test_without_starttls_a_server_that_requires_it_is_a_clear_error(site, tls_server, capsys):
    with smtp_server(tls_context=tls_server, require_starttls=True) as (recorder, port):
        code, _o, err = send_one(capsys, site, port)
    assert code == 1 and recorder.received == []
    assert (f"smtp://127.0.0.1:{port}: the server offers login (SMTP_USER) only over TLS: "
            "add --starttls") in err
    assert "Traceback" not in err


# aiosmtpd only counts STARTTLS as TLS for AUTH; with ssl_context the whole connection is TLS
def test_ssl_connects_over_tls_from_the_start(site, tls_server, capsys):
    with smtp_server(ssl_context=tls_server, auth_require_tls=False) as (recorder, port):
        code, out, err = send_one(capsys, site, port, "--ssl")
    assert code == 0, err
    assert "sent to ada@example.org" in out
    assert [authenticated for _f, _t, _d, authenticated in recorder.received] == [True]


def test_an_untrusted_certificate_is_refused_with_a_clear_error(site, tls_server, capsys,
                                                                monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(Path(__file__)))  # trusts no authority at all
    with smtp_server(ssl_context=tls_server, auth_require_tls=False) as (recorder, port):
        code, _o, err = send_one(capsys, site, port, "--ssl")
    assert code == 1 and recorder.received == []
    assert "cannot connect to the SMTP server: unable to get local issuer certificate" in err
    assert "SSL_CERT_FILE" in err
    assert "Traceback" not in err
