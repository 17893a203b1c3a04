"""The workspace's front door, in front of Flask: the per-run secret and the Host check.

The secret is the first segment of every path (`http://127.0.0.1:PORT/SECRET/...`), not a
cookie: browsers send cookies for 127.0.0.1 to every port on it, so a cookie would reach any
other local server the browser visits, while a path is sent only to ours. Flask sees the
secret as SCRIPT_NAME, so every URL it builds keeps it. Without it (or with a wrong one)
every path answers 403; a Host other than 127.0.0.1:PORT or localhost:PORT (a DNS-rebinding
page) answers 403 before the path is looked at. Referrer-Policy keeps the secret out of
Referer headers to other sites.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    # same-origin: our own pages get Referer and a real Origin on their forms (with
    # no-referrer Chromium sends `Origin: null`), and no other site ever sees the secret.
    ("Referrer-Policy", "same-origin"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
)
_DROPPED = frozenset({"server", "etag", "last-modified", "expires", "pragma"})
# Shown before the app (and its catalogs) is reached, so in every staff language at once.
FORBIDDEN_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>403</title></head>'
    "<body><h1>403</h1>"
    "<p>Open the address printed by <code>sealdrop-admin workspace</code>.</p>"
    '<p lang="fr">Ouvrez l\u2019adresse affich\u00e9e par '
    "<code>sealdrop-admin workspace</code>.</p>"
    '<p lang="zh-Hans">\u8bf7\u6253\u5f00 <code>sealdrop-admin workspace</code> '
    "\u663e\u793a\u7684\u5730\u5740\u3002</p>"
    '<p lang="zh-Hant">\u8acb\u6253\u958b <code>sealdrop-admin workspace</code> '
    "\u986f\u793a\u7684\u4f4d\u5740\u3002</p></body></html>"
).encode()


def with_security_headers(start_response: Callable[..., Any]) -> Callable[..., Any]:
    """A start_response that sets the strict header set and drops revealing headers."""

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        kept = [(k, v) for k, v in headers if k.lower() not in _DROPPED]
        names = {k.lower() for k, _ in SECURITY_HEADERS}
        kept = [(k, v) for k, v in kept if k.lower() not in names]
        return start_response(status, kept + list(SECURITY_HEADERS), exc_info)

    return start


class Gate:
    """WSGI middleware: Host check, secret path prefix, security headers on everything."""

    def __init__(self, app: WSGIApp, secret: str) -> None:
        self.app = app
        self.secret = secret
        self.port: int | None = None  # set once the server is bound

    @property
    def prefix(self) -> str:
        """The path every page lives under."""
        return "/" + self.secret

    def allowed_hosts(self) -> set[str]:
        """Host header values that name this server."""
        return {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}

    def _refuse(self, start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response(
            "403 Forbidden",
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(FORBIDDEN_PAGE))),
            ],
        )
        return [FORBIDDEN_PAGE]

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        start = with_security_headers(start_response)
        if environ.get("HTTP_HOST", "").lower() not in self.allowed_hosts():
            return self._refuse(start)
        path: str = environ.get("PATH_INFO", "")
        first, _, rest = path.lstrip("/").partition("/")
        if not path.startswith("/") or not hmac.compare_digest(
            first.encode("utf-8", "surrogateescape"), self.secret.encode()
        ):
            return self._refuse(start)
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.prefix
        environ["PATH_INFO"] = "/" + rest
        return self.app(environ, start)
