<?xml version="1.0" encoding="UTF-8"?>
<!-- Shows an RSS or Atom feed of the site as a readable page when it is opened in a browser.
     Feed readers ignore it. Self-contained: its own styles, one small script for the copy
     button, so it works from any folder of the site. -->
<xsl:stylesheet version="1.0"
  xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
  xmlns:atom="http://www.w3.org/2005/Atom"
  exclude-result-prefixes="atom">
  <xsl:output method="html" encoding="UTF-8" indent="yes"
    doctype-system="about:legacy-compat"/>

  <xsl:variable name="title" select="/rss/channel/title | /atom:feed/atom:title"/>
  <xsl:variable name="self" select="(/rss/channel/atom:link[@rel='self']/@href | /atom:feed/atom:link[@rel='self']/@href)[1]"/>
  <xsl:variable name="site" select="(/rss/channel/link | /atom:feed/atom:link[@rel='alternate']/@href)[1]"/>

  <xsl:template match="/">
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <meta name="color-scheme" content="light dark"/>
        <title><xsl:value-of select="$title"/> (feed)</title>
        <style>
          :root { --bg: #fff; --soft: #f6f7f9; --fg: #1f2328; --muted: #57606a; --border: #d8dee4; --link: #0b57d0; --accent: #b45309; }
          @media (prefers-color-scheme: dark) { :root { --bg: #0f1115; --soft: #171a21; --fg: #e6e8eb; --muted: #a3abb6; --border: #2c313a; --link: #8ab4f8; --accent: #fbbf24; } }
          * { box-sizing: border-box; }
          body { margin: 0; background: var(--bg); color: var(--fg); font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; overflow-wrap: break-word; }
          a { color: var(--link); }
          .wrap { max-width: 820px; margin: 0 auto; padding: 20px 16px 40px; }
          .about { border: 1px solid var(--border); border-left: 4px solid var(--accent); border-radius: 10px; background: var(--soft); padding: 12px 16px; margin: 0 0 20px; }
          .about p { margin: 4px 0; }
          .copy-row { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin-top: 8px; }
          .copy-row input { flex: 1 1 240px; min-height: 36px; padding: 4px 10px; border: 1px solid var(--border); border-radius: 8px; background: var(--bg); color: var(--fg); font: inherit; font-size: .9rem; }
          button { min-height: 36px; padding: 4px 16px; border: 1px solid var(--accent); border-radius: 999px; background: var(--bg); color: var(--fg); font: inherit; font-weight: 600; cursor: pointer; }
          h1 { font-size: 1.7rem; line-height: 1.2; margin: 0 0 4px; }
          .muted { color: var(--muted); }
          ol { list-style: none; padding: 0; margin: 0; display: grid; gap: 12px; }
          li { border: 1px solid var(--border); border-radius: 10px; padding: 12px 16px; }
          li h2 { font-size: 1.05rem; margin: 0 0 4px; }
          li p { margin: 4px 0 0; }
        </style>
      </head>
      <body>
        <main class="wrap">
          <section class="about" aria-label="About this page">
            <p><strong>This is a feed.</strong> To follow it, copy its address into your feed reader (Feedly, Inoreader, NetNewsWire, Thunderbird…).</p>
            <div class="copy-row">
              <label for="feed-url" class="muted">Feed address</label>
              <input id="feed-url" type="text" readonly="readonly" value="{$self}"/>
              <button type="button" id="copy">Copy</button>
            </div>
          </section>
          <h1><xsl:value-of select="$title"/></h1>
          <p class="muted"><xsl:value-of select="/rss/channel/description | /atom:feed/atom:subtitle"/>
            <xsl:if test="$site"> · <a href="{$site}">Open the website</a></xsl:if></p>
          <h2 class="muted" style="font-size:1rem">Newest items</h2>
          <ol>
            <xsl:apply-templates select="/rss/channel/item | /atom:feed/atom:entry"/>
          </ol>
        </main>
        <script>
          document.getElementById("copy").addEventListener("click", function () {
            var field = document.getElementById("feed-url"), button = this;
            function done() { button.textContent = "Copied"; }
            if (navigator.clipboard &amp;&amp; window.isSecureContext) {
              navigator.clipboard.writeText(field.value).then(done, function () { field.select(); });
            } else { field.select(); document.execCommand("copy"); done(); }
          });
        </script>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="item | atom:entry">
    <li>
      <h2><a href="{(link | atom:link[@rel='alternate']/@href | atom:link[not(@rel)]/@href)[1]}"><xsl:value-of select="title | atom:title"/></a></h2>
      <span class="muted"><xsl:value-of select="substring(pubDate | atom:updated, 1, 16)"/></span>
      <p><xsl:value-of select="substring(normalize-space(description | atom:summary), 1, 300)"/><xsl:if test="string-length(normalize-space(description | atom:summary)) &gt; 300">…</xsl:if></p>
    </li>
  </xsl:template>
</xsl:stylesheet>
