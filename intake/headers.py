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


def onion_app_settings(cookie_name: str) -> dict[str, object]:
    """Flask settings both apps share for their one cookie and their forms.

    Onion services are plain HTTP inside Tor (Tor encrypts end to end), so cookies cannot
    be marked Secure and CSRF cannot check TLS referrers; the cookie is HttpOnly,
    SameSite=Strict and never refreshed, so its expiry stays absolute.
    """
    return {
        "SESSION_COOKIE_NAME": cookie_name,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Strict",
        "SESSION_COOKIE_SECURE": False,
        "SESSION_REFRESH_EACH_REQUEST": False,
        "WTF_CSRF_SSL_STRICT": False,
        "TEMPLATES_AUTO_RELOAD": False,
    }


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
