"""Parsing untrusted XML safely (defusedxml: no DTD entities, no external references), with the
line of every element kept for error messages."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from xml.etree.ElementTree import Element, TreeBuilder

from defusedxml import DefusedXmlException, DTDForbidden
from defusedxml.ElementTree import DefusedXMLParser

from site_builder.importers.record import read_each, source_error

T = TypeVar("T")

# The first element of a document, after the XML declaration, comments and a doctype.
ROOT_RE = re.compile(r"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*|<\?[^>]*\?>\s*)*"
                     r"(?:<!DOCTYPE[^>[]*(?:\[.*?\])?\s*>\s*)?(?:<!--.*?-->\s*)*"
                     r"<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[\s/>]", re.DOTALL)


def looks_like(text: str, root: str, mark: str) -> bool:
    """Whether a document's root element (read from its start, no parsing) has the local name
    ``root`` and its start mentions ``mark`` (in any case)."""
    head = text[:20_000]
    match = ROOT_RE.match(head)
    return bool(match) and match.group(1) == root and mark in head.lower()


@dataclass
class XmlDocument:
    root: Element
    lines: dict[Element, int]

    def read_each(self, elements: list[Element], name: str, what: str,
                  read: Callable[[Element, str], T]) -> list[T]:
        """``read(element, "source:line")`` for each element; each ValueError it raises is a
        problem naming the element (``item 3``) and its line, all raised together."""
        return read_each(((f"{what} {number}", self.lines.get(element, 0), element)
                          for number, element in enumerate(elements, 1)), name, read, None)


def refuse_external_doctype(name: str, system_id: str | None, public_id: str | None,
                            _internal: bool) -> None:
    """A doctype may be given, but not one that points at a file or URL (never fetched
    anyway): the README promises external references are refused."""
    if system_id or public_id:
        raise DTDForbidden(name, system_id, public_id)


def parse_xml(text: str, name: str) -> XmlDocument:
    """Parse a whole document; errors become a ContentError naming the source, line and column."""
    parser = DefusedXMLParser(target=TreeBuilder(), forbid_dtd=False, forbid_entities=True,
                              forbid_external=True)
    expat, lines = parser.parser, {}
    make_element = expat.StartElementHandler

    def start(tag: str, attributes: list[str]) -> Element:  # remembers the line it starts on
        element = make_element(tag, attributes)
        lines[element] = expat.CurrentLineNumber
        return element

    expat.StartElementHandler = start
    expat.StartDoctypeDeclHandler = refuse_external_doctype
    try:
        # The text is already decoded, so the declaration's encoding no longer applies.
        parser.feed(re.sub(r"^(\s*<\?xml[^>]*?)\s+encoding=(['\"])[^'\"]*\2", r"\1", text,
                           count=1))
        root = parser.close()
    except SyntaxError as exc:  # xml.etree.ElementTree.ParseError
        line, column = getattr(exc, "position", (0, 0))
        message = str(exc).split(": line ")[0]
        raise source_error(name, f"malformed XML at line {line}, column {column + 1}: {message}",
                           line) from exc
    except DefusedXmlException as exc:
        raise source_error(name, f"unsafe XML refused ({type(exc).__name__}: entity declarations "
                           "and external references are not allowed)") from exc
    return XmlDocument(root, lines)


def child_text(element: Element, tag: str) -> str:
    found = element.find(tag)
    return "".join(found.itertext()) if found is not None else ""
