"""Run one Sealdrop app (source or staff) under gunicorn, in a process of its own.

`sealdrop serve` starts one such process per app (`python -m intake.serving ...`), so a
flood of slow uploads on the source app cannot take threads from the staff app, and each
gunicorn arbiter owns its process's signals as it expects to.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, cast

from flask import Flask
from gunicorn.app.base import BaseApplication

from .gunicorn_conf import GRACEFUL_TIMEOUT_SECONDS, default_workers, gunicorn_options
from .hostguard import ALLOWED_HOSTS_KEY
from .raw_errors import use_app_error_pages

WSGIApp = Callable[..., Any]
# The app factory of each role, as "module:function" (contract: factory(config) -> app).
FACTORIES = {"source": "intake:create_app", "staff": "intake:create_staff_app"}


def remove_server_header() -> None:
    """Stop gunicorn from sending `Server: gunicorn` on every response.

    gunicorn has no setting for this (benoitc/gunicorn#825): its Response writes a Server
    line from the module constant `gunicorn.http.wsgi.SERVER`. Assigning that constant is
    the usual workaround but still sends a `Server:` line; dropping the line from
    `default_headers()` sends none. Both are done, so a gunicorn that renamed one of them
    still names no software. tests/test_serve_cli.py checks the raw response bytes.
    """
    from gunicorn.http import wsgi

    wsgi.SERVER = ""
    wsgi.SERVER_SOFTWARE = ""
    original = wsgi.Response.default_headers
    if getattr(original, "_sealdrop_no_server", False):
        return

    def default_headers(self: Any) -> list[str]:
        headers: list[str] = original(self)
        return [line for line in headers if not line.lower().startswith("server:")]

    default_headers._sealdrop_no_server = True  # type: ignore[attr-defined]
    wsgi.Response.default_headers = default_headers


# glibc's mallopt parameter number for M_TOP_PAD (malloc.h).
_M_TOP_PAD = -2
MALLOC_TOP_PAD_BYTES = 16 * 1024 * 1024


def keep_malloc_slack() -> None:
    """Let each glibc malloc heap keep 16 MiB of slack instead of shrinking after every free.

    An upload allocates and frees buffers of a few hundred KiB per read; by default glibc
    gives the top of the heap back to the kernel each time and takes it again, and the page
    faults cost more system CPU than the cipher (perf: 2.3-2.8 s of kernel time per GiB
    uploaded; 0.9-1.0 s with this). Cost: up to 16 MiB more RSS per busy heap. Workers
    inherit the setting through fork. Not glibc: nothing to do.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_TOP_PAD, MALLOC_TOP_PAD_BYTES)


class AppServer(BaseApplication):  # type: ignore[misc]
    """gunicorn embedded: our settings only, the app built by each worker after the fork."""

    def __init__(self, build_app: Callable[[], WSGIApp], options: dict[str, Any]) -> None:
        self._build_app = build_app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        """Apply our settings; gunicorn.conf.py files and $GUNICORN_CMD_ARGS are ignored."""
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> WSGIApp:
        """Build the app inside the worker; gunicorn's own error answers become its pages."""
        app = self._build_app()
        if isinstance(app, Flask):
            use_app_error_pages(app)
        return app


def build_app(factory: str, instance: str, allowed_hosts: Iterable[str]) -> WSGIApp:
    """The app made by `factory` ("module:function") for the instance, for `allowed_hosts`."""
    from .config import load_config

    module_name, _, function = factory.partition(":")
    make_app = getattr(importlib.import_module(module_name), function)
    app = make_app(load_config(instance))
    app.config[ALLOWED_HOSTS_KEY] = frozenset(allowed_hosts)
    return cast(WSGIApp, app)


def _exit_with_parent(parent: int) -> None:
    """Shut this arbiter down gracefully if `sealdrop serve` goes away without telling us."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    """Entry point of one app process (started by `sealdrop serve`, not by people)."""
    parser = argparse.ArgumentParser(prog="python -m intake.serving")
    parser.add_argument("--role", choices=sorted(FACTORIES), required=True)
    parser.add_argument("--factory", help="module:function building the app (default: role's)")
    parser.add_argument("--instance", required=True)
    parser.add_argument("--bind", required=True, help="host:port")
    parser.add_argument("--allowed-host", action="append", default=[], dest="allowed_hosts")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--graceful-timeout", type=int, default=GRACEFUL_TIMEOUT_SECONDS)
    parser.add_argument(
        "--heartbeat-timeout",
        type=int,
        default=None,
        help="gunicorn's worker timeout (tests show uploads outlive it)",
    )
    args = parser.parse_args(argv)
    remove_server_header()
    keep_malloc_slack()
    _exit_with_parent(os.getppid())
    options = gunicorn_options(args.bind, args.workers, args.graceful_timeout)
    if args.heartbeat_timeout:
        options["timeout"] = args.heartbeat_timeout
    options["proc_name"] = f"sealdrop-{args.role}"
    factory = args.factory or FACTORIES[args.role]
    AppServer(lambda: build_app(factory, args.instance, args.allowed_hosts), options).run()


if __name__ == "__main__":
    main()
