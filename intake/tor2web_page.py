"""The page a Tor2web visitor gets instead of the form, in every source language at once.

Static on purpose (intake/templates/tor2web.html, served as is): the host guard answers
before any other hook runs (no Babel, no session), and someone on a proxy may not find a
language link in time.
"""

from __future__ import annotations

from pathlib import Path

TOR2WEB_PAGE = (Path(__file__).parent / "templates" / "tor2web.html").read_text(encoding="utf-8")
