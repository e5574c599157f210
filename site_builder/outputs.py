"""Non-HTML outputs share one shape: a site path, its bytes, and what produced it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FileOutput:
    path: str  # site path, e.g. "feed.xml" or "topics/regularization/atom.xml"
    data: bytes
    source: str  # what produced it, for the writer's duplicate-path message
