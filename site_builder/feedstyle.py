"""The stylesheet processing instruction that makes RSS and Atom feeds readable in a browser.

feedgen has no option for it, so it goes in after the XML declaration. Feed readers ignore
the instruction; a browser that opens the feed shows ``static/feed.xsl``'s page instead of
raw XML. The link is relative to the feed, so it works under any base path and in previews.
"""

from __future__ import annotations

from site_builder import urls

STYLESHEET = urls.static("feed.xsl")
DECLARATION_END = b"?>"


def with_stylesheet(feed: bytes, feed_path: str) -> bytes:
    """The feed with ``<?xml-stylesheet?>`` pointing at the site's feed stylesheet."""
    href = urls.relative(feed_path, STYLESHEET)
    instruction = f'<?xml-stylesheet type="text/xsl" href="{href}"?>'.encode()
    if feed.startswith(b"<?xml"):
        end = feed.index(DECLARATION_END) + len(DECLARATION_END)
        return feed[:end] + b"\n" + instruction + feed[end:]
    return instruction + b"\n" + feed
