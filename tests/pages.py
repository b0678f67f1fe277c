"""Reading rendered pages in view tests: the text a person sees, the links they can follow."""
from __future__ import annotations

import re
from html.parser import HTMLParser

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}


class _Reader(HTMLParser):
    def __init__(self, element_id: str | None):
        super().__init__(convert_charrefs=True)
        self.element_id = element_id
        self.depth = 0 if element_id else 1   # > 0 while inside the element
        self.chunks: list[str] = []
        self.links: list[tuple[str, str]] = []   # (text, href) inside the element
        self._link: list | None = None
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style", "title"):
            self._skip += 1
        if self.depth == 0 and self.element_id and attrs.get("id") == self.element_id:
            self.depth = 1
            return
        if self.depth > 0:
            if tag not in _VOID:
                self.depth += 1
            if tag == "a":
                self._link = [attrs.get("href") or "", []]
            elif self._link is not None:
                self._link[1].append(" ")         # a tile's number and its label
            if tag in ("li", "div", "p", "tr", "dt", "dd", "h1", "h2", "h3", "br"):
                self.chunks.append("\n")
            elif tag in ("span", "td", "th", "button"):
                self.chunks.append(" ")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "title"):
            self._skip = max(0, self._skip - 1)
        if self.depth > 0 and tag not in _VOID:
            if tag == "a" and self._link is not None:
                self.links.append((" ".join("".join(self._link[1]).split()), self._link[0]))
                self._link = None
            if self.element_id:
                self.depth -= 1

    def handle_data(self, data):
        if self.depth > 0 and not self._skip:
            self.chunks.append(data)
            if self._link is not None:
                self._link[1].append(data)


def _read(html: str, element_id: str | None) -> _Reader:
    reader = _Reader(element_id)
    reader.feed(html)
    return reader


def text(html: str, element_id: str | None = None) -> str:
    """The visible text of the page (or of the element with this id), one line per block."""
    raw = "".join(_read(html, element_id).chunks)
    lines = (" ".join(line.split()) for line in raw.split("\n"))
    return "\n".join(line for line in lines if line)


def links(html: str, element_id: str | None = None) -> dict[str, str]:
    """Link text -> href, of the page or of one element."""
    return dict(_read(html, element_id).links)


def squash(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()


class _Options(HTMLParser):
    def __init__(self, name: str):
        super().__init__(convert_charrefs=True)
        self.name, self.inside, self.found = name, False, []
        self._option: list | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "select":
            self.inside = attrs.get("name") == self.name
        elif tag == "option" and self.inside:
            self._option = [attrs.get("value"), "selected" in attrs, []]

    def handle_endtag(self, tag):
        if tag == "option" and self._option is not None:
            value, selected, chunks = self._option
            label = " ".join("".join(chunks).split())
            self.found.append((label, label if value is None else value, selected))
            self._option = None
        elif tag == "select":
            self.inside = False

    def handle_data(self, data):
        if self._option is not None:
            self._option[2].append(data)


def options(html: str, name: str) -> list[tuple[str, str, bool]]:
    """The choices of the select named `name`: (label, value, selected) in page order."""
    reader = _Options(name)
    reader.feed(html)
    return reader.found
