"""The strict header set of DESIGN §4, on every response (errors included)."""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cache-Control": "no-store",
}
# Headers that identify software or let a browser keep state.
REMOVED = ("ETag", "Last-Modified", "Server", "X-Powered-By", "Expires", "Pragma")


def secure_headers(response: Response) -> Response:
    """Set the security headers and drop the ones that leak or cache."""
    for name in REMOVED:
        response.headers.pop(name, None)
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def init_app(app: Flask) -> None:
    """Register on the app (after_request runs for error responses too)."""
    app.after_request(secure_headers)
