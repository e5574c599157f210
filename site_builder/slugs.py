"""Slugs: deterministic ASCII names for URLs and files, from text in any script."""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii

MAX_SLUG_LENGTH = 80


def slugify(text: str, max_length: int = MAX_SLUG_LENGTH, fallback: str = "paper") -> str:
    """A deterministic ASCII slug (non-Latin scripts are transliterated)."""
    ascii_text = anyascii(unicodedata.normalize("NFKC", text)).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0] or slug[:max_length]
    return slug or fallback
