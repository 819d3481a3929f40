"""Issue 17, item 1: the Russian interface says everything in Russian.

The demo world's pages are crawled as a signatory and as a clerk (every page
reachable by links from the main page, as a newcomer would click through), and
every word in Latin letters that a person sees — text, and the attributes a
browser shows (``title``, ``placeholder``, ``aria-label``, ``alt``, the
``data-confirm`` question) — must be a name or a code of :data:`ALLOWED`;
e-mail addresses, web addresses and hexadecimal serials and thumbprints are
left out before the check, and so are file names, words with digits (meter
models such as «Меркурий 230 ART-02», a PDF's field «Signature1»), code
(``<code>``, ``<kbd>``, ``<samp>``) and what a template marks as a name not
to translate (``translate="no"``: a certificate's distinguished name). A raw
value (``readings``, ``valid``, ``read``, ``digital signature``) fails the test
with the page and its sentence.
"""

from __future__ import annotations

import re
from collections import deque
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from flask.testing import FlaskClient

from tests.functional.newcomer_world import (
    ADMIN,
    CLERK,
    OTHER_SIGNER,
    SIGNER,
    Demo,
    demo,
)

__all__ = ["demo"]

#: Names and codes a Russian page may carry in Latin letters.
ALLOWED = frozenset(
    # formats, standards, protocols and programs
    "PDF ZIP API REST OpenAPI JSON CMS PAdES CAdES CAdES-BES CAdES-T CAdES-LT "
    "CAdES-LTA B-B B-T B-LT B-LTA LTA OCSP CRL SHA-1 SHA-256 SHA-512 X.509 DER PEM "
    "PKCS RSA ECDSA TSA RFC SMS UTC URL HTTP HTTPS HTML TLS ERP XLSX DOCX CSV XML ODF "
    "E-mail e-mail Excel Word JavaScript ID "
    # certificate extensions of a qualified certificate, by their ASN.1 names
    # (Приказ ФСБ России № 795), quoted in parentheses after the Russian words
    "subjectSignTool issuerSignTool "
    # the product and the locales
    "docflow RU EN".split()
)

_FILE = re.compile(
    r"\S*\.(?:pdf|sig|p7s|cer|crt|pem|der|p12|pfx|zip|xlsx|xls|docx|doc|csv|xml"
    r"|json|odt|png|jpe?g)\b",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"(?:https?://|www\.)\S+")
_HEX = re.compile(r"\b[0-9A-Fa-f:]{8,}\b")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*")
_CODE_TAGS = ("script", "style", "template", "code", "kbd", "samp")
_SHOWN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "data-confirm")
_SKIP = ("/lang/", "/static/", "/api/v1", "/account/logout", "/tsa")
_DOWNLOADS = (".pdf", ".zip", ".xlsx", ".docx", ".sig", ".crt", ".json")


class _Visible(HTMLParser):
    """The text a person sees, with the attributes a browser shows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden: list[str] = []  # the open elements whose text is left out

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _CODE_TAGS or ("translate", "no") in attrs:
            self._hidden.append(tag)
        elif self._hidden and tag == self._hidden[-1]:
            self._hidden.append(tag)  # nested alike: its end closes this one
        for name, value in attrs:
            if name in _SHOWN_ATTRIBUTES and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if self._hidden and tag == self._hidden[-1]:
            self._hidden.pop()

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def english_words(html: str) -> list[tuple[str, str]]:
    """(word, the sentence it stands in) for each Latin word not allowed."""
    parser = _Visible()
    parser.feed(html)
    found = []
    for part in parser.parts:
        text = _HEX.sub(" ", _FILE.sub(" ", _URL.sub(" ", _EMAIL.sub(" ", part))))
        for match in _LATIN_WORD.finditer(text):
            word = match.group(0)
            if word not in ALLOWED and not any(c.isdigit() for c in word):
                found.append((word, part[:160]))
    return found


def crawl(client: FlaskClient, start: str = "/", limit: int = 120) -> dict[str, str]:
    """The HTML pages reachable by links from ``start`` (each path once)."""
    pages: dict[str, str] = {}
    queue: deque[str] = deque([start])
    seen: set[str] = set()
    while queue and len(pages) < limit:
        url = queue.popleft()
        path = urlsplit(url).path
        if path in seen or path.startswith(_SKIP) or path.endswith(_DOWNLOADS):
            continue
        seen.add(path)
        if "/files/" in path:
            continue
        resp = client.get(url)
        assert resp.status_code < 500, (url, resp.status_code)
        if resp.status_code != 200 or resp.mimetype != "text/html":
            continue
        html = resp.get_data(as_text=True)
        pages[url] = html
        for href in re.findall(r'href="([^"#]+)', html):
            target = urlsplit(urljoin(url, unescape(href)))
            if target.netloc in ("", "localhost") and target.scheme in ("", "http"):
                queue.append(target.path + (f"?{target.query}" if target.query else ""))
    return pages


def assert_russian(pages: dict[str, str]) -> None:
    lines = sorted(
        {
            f"{url}: {word} — «{context}»"
            for url, html in pages.items()
            for word, context in english_words(html)
        }
    )
    assert not lines, "English on Russian pages:\n" + "\n".join(lines)


@pytest.mark.parametrize(
    "html",
    [
        "<dd>digital signature, non repudiation</dd>",
        "<dd>источник: readings</dd>",
        "<td>read, write, sign</td>",
        '<form data-confirm="Delete?"></form>',
        "<dt>Проверка при регистрации</dt><dd>valid</dd>",
    ],
)
def test_the_check_finds_raw_values(html: str) -> None:
    assert english_words(html)


@pytest.mark.parametrize(
    "html",
    [
        "<p>Подпись PAdES B-LTA и CAdES-LTA, SHA-256, OCSP и CRL</p>",
        "<p>Пишите на corp@energosbyt.example или https://lk.example.ru/help</p>",
        '<td class="mono">070AEEED2884B42C4BF37193B13D4045208C7F6</td>',
        "<td>Меркурий 230 ART-02</td><td>ДС-3-2026.signed-1.pdf</td>",
        "<p>Команда: <code>docflow readings import-meters FILE</code></p>",
        '<td translate="no">CN=Демо УЦ docflow, O=docflow test PKI, C=RU</td>',
    ],
)
def test_the_check_leaves_names_and_codes(html: str) -> None:
    assert english_words(html) == []


def test_a_signatorys_pages_say_everything_in_russian(demo: Demo) -> None:
    client = demo.client(SIGNER)
    # A document signed by both parties, to see the signatures' reports too.
    signed = demo.document()["id"]
    demo.sign_as_customer(client, SIGNER, signed)
    demo.client(CLERK).post(f"/documents/{signed}/countersign")
    pages = crawl(client)
    # The refusal of someone else's certificate is a page of its own (a POST).
    refused = demo.upload_certificate(client, OTHER_SIGNER)
    assert refused.status_code == 422
    pages["POST /certificates/ (refused)"] = refused.get_data(as_text=True)
    assert len(pages) > 25, sorted(pages)
    assert "Подписан обеими сторонами" in pages[f"/documents/{signed}"]
    assert any(p.startswith("/certificates/") and len(p) > 20 for p in pages)
    assert_russian(pages)


def test_a_clerks_pages_say_everything_in_russian(demo: Demo) -> None:
    client = demo.client(CLERK)
    pages = crawl(client)
    assert len(pages) > 15, sorted(pages)
    # The list's pager, both ways (the demo has two documents).
    for url in ("/documents/?per_page=1&page=1", "/documents/?per_page=1&page=2"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        pages[url] = resp.get_data(as_text=True)
    assert "Далее →" in pages["/documents/?per_page=1&page=1"]
    assert "← Назад" in pages["/documents/?per_page=1&page=2"]
    # «Проверить доступность» of the CRL and OCSP endpoints (a POST).
    checked = client.post("/certificates/trust/check")
    assert checked.status_code == 200
    pages["POST /certificates/trust/check"] = checked.get_data(as_text=True)
    # The administrator's pages too: imports, news, FAQ and contacts editing.
    admin = crawl(demo.client(ADMIN))
    assert any("/import" in url for url in admin) and "/news/new" in admin
    pages.update({f"{url} (admin)": html for url, html in admin.items()})
    assert_russian(pages)


def test_the_english_pages_render(demo: Demo) -> None:
    """The same pages in English: every translation formats (its placeholders
    are the message's), and the module pages are translated."""
    for email in (SIGNER, CLERK, ADMIN):
        client = demo.client(email)
        client.set_cookie("lang", "en")
        pages = crawl(client)
        assert len(pages) > 15, sorted(pages)
        assert all("Sign out" in html for html in pages.values())
    certificates = client.get("/certificates/").get_data(as_text=True)
    assert "E-signature certificates" in certificates
    assert "Сертификаты электронной подписи" not in certificates
