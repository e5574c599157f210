"""``site-builder serve``: build, serve on 127.0.0.1 under the configured base path (a project
site is tried at ``/<repo>/`` as it will be published), rebuild on every change, and reload.

Each HTML response gets a script, never written to the output, that polls the build number;
a failed rebuild keeps the previous output and shows its problems on top of every page.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import html
import re
import sys
import threading
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from site_builder import urls
from site_builder.build import BuildOptions, build
from site_builder.config import load_config
from site_builder.errors import ContentError
from site_builder.render import site_templates

RELOAD_PATH = "/__site-builder/build"  # outside any base path, so it never shadows a page

RELOAD_SCRIPT = """<script>/* site-builder serve: live reload (not part of the built site) */
(function () {
  var build = "%(build)s";
  function poll() {
    fetch("%(path)s", {cache: "no-store"}).then(function (r) { return r.text(); })
      .then(function (now) {
        if (now !== build) { window.location.reload(); } else { setTimeout(poll, 500); }
      }, function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 500);
})();
</script>"""

ERROR_BANNER = (
    '<div role="alert" style="position:sticky;top:0;z-index:1000;margin:0;padding:12px 16px;'
    'background:#7f1d1d;color:#fff;font:14px/1.4 ui-monospace,monospace;white-space:pre-wrap">'
    "The last rebuild failed; this is the previous build.\n%s</div>"
)


BODY_RE = re.compile(rb"<body\b[^>]*>", re.IGNORECASE)


def configured_base_path(options: BuildOptions) -> str:
    """The path of the base URL the site will be published at (``/`` when unsure)."""
    if options.base_url:
        path = urlsplit(options.base_url).path or "/"
        return path if path.endswith("/") else path + "/"
    try:
        return load_config(options.content_dir).base_path
    except ContentError:
        return "/"  # the first build reports the problem


MAX_CONNECTIONS = 64  # connections served at once; more are closed at once (no thread)
IDLE_SECONDS = 30  # a connection that sends nothing this long is closed


class BoundedHTTPServer(ThreadingHTTPServer):
    """A thread per connection, but at most ``max_connections`` of them: a flood of idle
    connections cannot make the dev server start threads without end."""

    daemon_threads = True
    max_connections = MAX_CONNECTIONS

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.slots = threading.BoundedSemaphore(self.max_connections)

    def process_request(self, request, client_address) -> None:  # noqa: ANN001
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:  # noqa: ANN001
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class DevServer:
    """An HTTP server for the output folder plus the rebuild-and-reload loop."""

    def __init__(self, options: BuildOptions, host: str = "127.0.0.1", port: int = 8000):
        self.base_path = configured_base_path(options)
        handler = functools.partial(DevRequestHandler, directory=str(options.out_dir))
        self.httpd = BoundedHTTPServer((host, port), handler)
        self.httpd.dev = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        url_host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # any address
        self.url = f"http://{url_host}:{self.port}{self.base_path}"
        self.options = dataclasses.replace(options, base_url=self.url)
        self.build_number = 0
        self.error = ""
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def rebuild(self) -> bool:
        """Build once; on failure keep the previous output and remember the problems."""
        with self.lock:
            try:
                build(self.options)
                self.error = ""
            except ContentError as exc:
                self.error = exc.report()
            except Exception as exc:  # keep serving: the next save may fix it
                self.error = f"internal error: {type(exc).__name__}: {exc}"
            if self.error:
                print(self.error, file=sys.stderr)
            self.build_number += 1
            return not self.error

    def start(self) -> None:
        """Serve requests in a background thread."""
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                       name="site-builder-serve")
        self.thread.start()

    def watched(self) -> list[Path]:
        own = site_templates(self.options.templates_dir, self.options.content_dir)
        return [p for p in (self.options.content_dir, own) if p is not None and p.exists()]

    def watch(self) -> None:
        """Rebuild whenever content or templates change, until ``stop()``."""
        import watchfiles

        for changes in watchfiles.watch(*self.watched(), stop_event=self.stop_event,
                                        debounce=300, raise_interrupt=False):
            names = sorted({Path(path).name for _change, path in changes})
            if not self.options.quiet:
                print(f"changed: {', '.join(names[:5])}{' …' if len(names) > 5 else ''}",
                      file=sys.stderr)
            self.rebuild()

    def stop(self) -> None:
        self.stop_event.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class DevRequestHandler(SimpleHTTPRequestHandler):
    """Serves the output under the base path, adding the live-reload script to HTML."""

    server: ThreadingHTTPServer
    timeout = IDLE_SECONDS

    @property
    def dev(self) -> DevServer:
        return self.server.dev  # type: ignore[attr-defined]

    def log_message(self, format: str, *args) -> None:
        pass  # the build messages are what matter in the terminal

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self) -> None:
        self.respond(head=False)

    def do_HEAD(self) -> None:
        self.respond(head=True)

    def redirect(self, status: HTTPStatus, location: str) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def respond(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        base = self.dev.base_path
        if path == RELOAD_PATH:
            self.send_bytes(str(self.dev.build_number).encode(), "text/plain", head=head)
            return
        if not path.startswith(base):
            if base.startswith(path.rstrip("/") + "/"):  # "/" or "/digest": go to the site
                self.redirect(HTTPStatus.FOUND, base)
            else:
                self.send_not_found(head)
            return
        site_path = path[len(base):]
        file = self.site_file(site_path)
        if file is None and not site_path.endswith("/") and self.site_file(site_path + "/"):
            self.redirect(HTTPStatus.MOVED_PERMANENTLY, quote(path + "/"))
        elif file is None:
            self.send_not_found(head)
        elif file.suffix == ".html":
            self.send_html(file.read_bytes(), HTTPStatus.OK, head)
        else:
            self.send_bytes(file.read_bytes(), self.guess_type(file), head=head)

    def site_file(self, site_path: str) -> Path | None:
        """The output file for a site path, refusing paths that climb out of the folder."""
        parts = [part for part in site_path.split("/") if part]
        if any(part in (".", "..") or "\x00" in part or "\\" in part for part in parts):
            return None
        name = "/".join(parts)
        if site_path == "" or site_path.endswith("/"):
            name = urls.output_file(name + "/" if name else "")
        target = Path(self.directory, name)
        return target if target.is_file() else None

    def send_not_found(self, head: bool) -> None:
        page = Path(self.directory) / urls.NOT_FOUND
        body = page.read_bytes() if page.is_file() else (
            b"<!doctype html><title>Not found</title><h1>Not found</h1>"
            b"<p>The site has not been built yet.</p>")
        self.send_html(body, HTTPStatus.NOT_FOUND, head)

    def send_html(self, body: bytes, status: HTTPStatus, head: bool) -> None:
        self.send_bytes(self.inject(body), "text/html; charset=utf-8", status, head)

    def inject(self, body: bytes) -> bytes:
        """Add the reload script (and the last build's problems) to a page."""
        data = (RELOAD_SCRIPT % {"build": self.dev.build_number, "path": RELOAD_PATH}).encode()
        index = body.rfind(b"</body>")
        body = body[:index] + data + body[index:] if index >= 0 else body + data
        if self.dev.error:  # first thing in the page, so it is seen without scrolling
            banner = (ERROR_BANNER % html.escape(self.dev.error)).encode()
            opening = BODY_RE.search(body)
            at = opening.end() if opening else 0
            body = body[:at] + banner + body[at:]
        return body

    def send_bytes(self, body: bytes, content_type: str, status: HTTPStatus = HTTPStatus.OK,
                   head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)


def serve(args: argparse.Namespace) -> int:
    """``site-builder serve``: build, serve, watch and rebuild until Ctrl-C."""
    options = BuildOptions(args.content, args.templates, args.out, args.base_url, args.jobs,
                           args.clean, args.quiet, args.strict)
    try:
        server = DevServer(options, args.host, args.port)
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc} "
              "(is another server running? try --port)", file=sys.stderr)
        return 1
    server.rebuild()
    server.start()
    print(f"serving {options.out_dir} at {server.url}\n"
          f"watching {', '.join(str(p) for p in server.watched())}; press Ctrl-C to stop",
          file=sys.stderr)
    try:
        server.watch()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
