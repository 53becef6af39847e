"""A real HTTP server on 127.0.0.1 (http.server in a thread) with the pages the web-import tests ask for:
an article among menus and footers, a redirect, a PDF, a 404, a plain-text page and a slow one."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARTICLE = """<!DOCTYPE html><html><head><meta charset="utf-8">
<title>Boats of Birch | The Daily Canoe</title></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li>
<li><a href="/shop">Shop Now</a></li></ul></nav>
<div class="sidebar"><h3>Subscribe</h3><p>Sign up for our newsletter today and never miss a deal.</p></div>
<article>
<h1>Boats of Birch</h1>
<p>The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. It is easy to tell
the depth of a well, and these days a chicken leg is a rare dish.</p>
<h2>Building One</h2>
<p>Rice is often served in round bowls. The juice of lemons makes fine punch. The box was thrown beside the
parked truck, and the hogs were fed chopped corn and garbage. Four hours of steady work faced us.</p>
<p>A large size in stockings is hard to sell. The boy was there when the sun rose. A rod is used to catch
pink salmon. The source of the huge river is the clear spring. Kick the ball straight and follow through.</p>
</article>
<footer><p>Copyright 2026 The Daily Canoe. All rights reserved. Privacy policy. Cookie settings.</p></footer>
</body></html>"""


class _Pages(BaseHTTPRequestHandler):
    def do_GET(self):
        path = self.path
        if path == "/article":
            self._send(200, "text/html; charset=utf-8", ARTICLE.encode())
        elif path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/article")
            self.end_headers()
        elif path == "/to-file":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
        elif path == "/paper.pdf":
            self._send(200, "application/pdf", b"%PDF-1.4 not a page")
        elif path == "/short":
            page = "<html><head><title>Short Page</title></head><body><nav>Menu Home News</nav><article>"
            page += (
                "<h1>Short Page</h1><p>The birch canoe slid on the smooth planks.</p></article></body></html>"
            )
            self._send(200, "text/html; charset=utf-8", page.encode())
        elif path == "/notes.txt":
            self._send(200, "text/plain; charset=utf-8", b"Plain notes, read as they are.")
        elif path == "/slow":
            time.sleep(3)
            self._send(200, "text/html", b"<p>late</p>")
        elif path == "/big":
            self._send(200, "text/html", b"<p>" + b"word " * 200_000 + b"</p>")
        else:
            self._send(404, "text/html", b"<h1>Not Found</h1>")

    def _send(self, code: int, kind: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *_args) -> None:
        pass


@contextmanager
def serving():
    """The base address of a server on 127.0.0.1 (a free port), stopped on leaving."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
