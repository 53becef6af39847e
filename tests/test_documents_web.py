"""A web page by address (engine/text/documents/web.py), fetched from a real HTTP server on 127.0.0.1
(tests/web_server.py): the article's text without the menus and footers, its headings, its title, and one
line for every way it can fail."""

from __future__ import annotations

import pytest
from web_server import serving

from fasttts_desktop.engine.text.documents import DocumentError, web


@pytest.fixture(scope="module")
def site():
    with serving() as base:
        yield base


def test_the_article_and_not_the_page_around_it(site):
    document = web.fetch_page(f"{site}/article")
    text = document.text
    assert document.kind == "html"
    assert document.name == f"{site}/article"
    assert document.title == "Boats of Birch"
    assert text.startswith("Boats of Birch\n\n")
    assert text.count("Boats of Birch") == 1  # the title is said once
    assert "The birch canoe slid on the smooth planks." in text
    assert "Kick the ball straight and follow through." in text
    for junk in ("Shop Now", "newsletter", "Copyright", "Cookie"):
        assert junk not in text
    assert [h.title for h in document.headings] == ["Boats of Birch", "Building One"]
    for h in document.headings:
        assert text[h.offset :].startswith(h.title)


def test_a_redirect_is_followed(site):
    assert web.fetch_page(f"{site}/moved").title == "Boats of Birch"


def test_plain_text_is_read_as_it_is(site):
    assert web.fetch_page(f"{site}/notes.txt").text == "Plain notes, read as they are."


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/missing", "the server answered 404"),
        ("/paper.pdf", "not a web page (the server sent application/pdf)"),
        ("/to-file", "file:///etc/passwd' is not allowed"),
    ],
)
def test_failures_are_one_line(site, path, message):
    with pytest.raises(DocumentError, match="Cannot") as caught:
        web.fetch_page(f"{site}{path}")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_server_that_does_not_answer_in_time(site):
    with pytest.raises(DocumentError, match="no answer"):
        web.fetch_page(f"{site}/slow", timeout=0.5)


def test_a_page_too_big(site, monkeypatch):
    monkeypatch.setattr(web, "MAX_PAGE_BYTES", 100_000)
    with pytest.raises(DocumentError, match="over"):
        web.fetch_page(f"{site}/big")


def test_nothing_listens(site):
    with serving() as other:  # a second server, stopped at once: its port is then closed
        closed = other
    with pytest.raises(DocumentError, match="refused"):
        web.fetch_page(f"{closed}/article")


@pytest.mark.parametrize("address", ["ftp://example.org/x", "file:///etc/passwd", "example.org", "http://"])
def test_only_web_addresses(address):
    with pytest.raises(DocumentError, match="not a web address"):
        web.fetch_page(address)


def test_is_url():
    assert web.is_url("https://example.org/a") and web.is_url(" HTTP://x")
    assert not web.is_url("book.epub") and not web.is_url("/home/http:/x")
