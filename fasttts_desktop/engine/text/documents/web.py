"""A web page by its address, fetched only when the user asks for it (File > Open Web Page…, or
`say -f https://…`): the only network use of the reader.

The article's main text is picked out of the page's menus, sidebars and footers by readability-lxml (a
port of Mozilla's Readability, Firefox's Reader View), then read like any HTML document, headings kept;
the page's title leads the text as its first heading. Bounded: http and https only (redirects too),
20 s without an answer, 20 MB of page. Every failure is one line naming the address.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from fasttts_desktop import __version__
from fasttts_desktop.engine.text.documents.builder import Builder
from fasttts_desktop.engine.text.documents.model import Document, DocumentError

MAX_PAGE_BYTES = 20 * 1024 * 1024
TIMEOUT_S = 20.0
_HTML_TYPES = frozenset(("text/html", "application/xhtml+xml"))
_SCHEMES = ("http", "https")


def is_url(text: str) -> bool:
    return text.strip().lower().startswith(("http://", "https://"))


def fetch_page(url: str, timeout: float = TIMEOUT_S) -> Document:
    """Fetch `url` and read its main text; DocumentError (one line) when it cannot be had or read."""
    # here, not with the module: the window imports is_url, and the HTTP client's modules cost ~20 ms
    import http.client
    import urllib.error
    import urllib.request

    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in _SCHEMES or not parts.netloc:
        raise DocumentError(f"{url!r} is not a web address (it must start with http:// or https://).")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above: http(s) only
        url,
        headers={
            "User-Agent": f"fasttts-desktop/{__version__} (text to speech; reads the page aloud)",
            "Accept": "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.5",
        },
    )
    # urllib follows redirects to http(s) only, and refuses others (file://) as an HTTPError
    opener = urllib.request.build_opener()
    try:
        with opener.open(request, timeout=timeout) as response:
            kind = response.headers.get_content_type()
            charset = response.headers.get_content_charset()
            if kind not in _HTML_TYPES and kind != "text/plain":
                raise DocumentError(f"Cannot read {url}: it is not a web page (the server sent {kind}).")
            data = response.read(MAX_PAGE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise DocumentError(f"Cannot open {url}: the server answered {exc.code} {exc.reason}.") from None
    except urllib.error.URLError as exc:
        raise DocumentError(f"Cannot open {url}: {_reason(exc.reason)}.") from None
    except TimeoutError:
        raise DocumentError(f"Cannot open {url}: no answer within {timeout:g} s.") from None
    except (http.client.HTTPException, OSError, ValueError) as exc:
        raise DocumentError(f"Cannot open {url}: {_reason(exc)}.") from None
    if len(data) > MAX_PAGE_BYTES:
        raise DocumentError(f"Cannot read {url}: the page is over {MAX_PAGE_BYTES >> 20} MB.")
    if kind == "text/plain":
        from fasttts_desktop.engine.text.documents.plain import read_plain

        return read_plain(data, url)
    return page_document(data, url, charset)


def page_document(data: bytes, url: str, charset: str | None = None) -> Document:
    """The main text of the page in `data` (fetched from `url`), as a Document of kind "html"."""
    from readability import Document as Readable

    from fasttts_desktop.engine.text.documents.html import add_html, decode_html, parse_html

    notices: list[str] = []
    if charset:
        try:
            text = data.decode(charset, errors="replace")
        except LookupError:
            text, notices = decode_html(data, url)
    else:
        text, notices = decode_html(data, url)
    try:
        readable = Readable(text, url=url)
        article = readable.summary(html_partial=True)
        title = _title(readable, parse_html(text, url))
    except Exception as exc:  # noqa: BLE001 - readability raises its own Unparseable and lxml's errors
        raise DocumentError(f"Cannot read {url}: no article text was found ({type(exc).__name__}).") from None
    builder = Builder(url)
    root = parse_html(article, url)
    opening = " ".join(root.text_content().split()) if root is not None else ""
    if title and not opening.startswith(title):  # an article that opens with its title says it once
        builder.paragraph(title)
        builder.add_heading(title, 0, 1)
    if root is not None:
        add_html(builder, root, headings=True)
    body, headings = builder.build()
    return Document(body, headings, title, "html", tuple(notices), url)


def _title(readable, page) -> str | None:
    """The page's first <h1> when the <title> holds it ("Boats | The Daily Canoe" has "Boats"), else
    readability's shortened <title>."""
    full = " ".join((readable.title() or "").split())
    if page is not None:
        h1 = next(page.iter("h1"), None)
        heading = " ".join(h1.text_content().split()) if h1 is not None else ""
        if heading and heading in full:
            return heading
    return " ".join((readable.short_title() or "").split()) or None


def _reason(reason) -> str:
    if isinstance(reason, socket.gaierror):
        return "the address cannot be found (no such host, or no network)"
    if isinstance(reason, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "no answer in time"
    text = " ".join(str(getattr(reason, "strerror", None) or reason).split())
    return text.rstrip(".") or type(reason).__name__
