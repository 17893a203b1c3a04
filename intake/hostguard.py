"""Answer only for the instance's own onion address, and refuse Tor2web proxies.

A Tor2web proxy lets people open an onion site in an ordinary browser: the proxy sees
everything the source sends and the source's own IP address, so a tip sent that way is
neither private nor anonymous. Such proxies announce themselves with `X-Tor2web`; the
source gets a page explaining how to come back safely instead of the form.

The Host check stops the app answering under names it does not own (DNS rebinding
against the loopback port, a look-alike proxy passing its own Host through).

Install with `hostguard.init_app(app)` in each app factory. `sealdrop serve` sets
`app.config[ALLOWED_HOSTS_KEY]` to the onion address it published (or to the loopback
names when it runs without tor); an app not run by `sealdrop serve` (tests, `flask run`)
answers the loopback names only.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request

from .tor2web_page import TOR2WEB_PAGE  # in every source language (issue 7)

ALLOWED_HOSTS_KEY = "SEALDROP_ALLOWED_HOSTS"
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def host_name(host: str) -> str:
    """The Host header without its port, lowercased ("[::1]:80" -> "::1")."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def refuse_foreign_requests() -> Response | None:
    """before_request hook: a 403 page for Tor2web, a 400 for a host that is not ours."""
    if "X-Tor2web" in request.headers:
        return Response(TOR2WEB_PAGE, status=403, mimetype="text/html")
    allowed = current_app.config.get(ALLOWED_HOSTS_KEY) or LOOPBACK_HOSTS
    if host_name(request.headers.get("Host", "")) not in allowed:
        return Response("Unknown host.\n", status=400, mimetype="text/plain")
    return None


def init_app(app: Flask) -> None:
    """Install the guard on `app` (call from the app factory)."""
    app.config.setdefault(ALLOWED_HOSTS_KEY, LOOPBACK_HOSTS)
    # First of all hooks: nothing else (sessions, database) runs for a refused request.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_foreign_requests)
