"""gunicorn settings for sources on Tor: slow, long uploads, nothing logged about them.

Why these numbers (a source behind a Snowflake bridge uploads at 20-100 KB/s, so a 100 MB
video takes 20 minutes to an hour and a half):

- worker_class "gthread": a request is handled by a thread from the worker's pool, so
  one slow upload holds one thread, not a whole process. Idle keep-alive connections wait
  in the worker's poller and hold no thread.
- threads: each upload in progress holds a thread for its whole duration, so the pool is
  sized for many at once (threads mostly sleep in recv(); a thread costs little memory).
  Requests beyond the pool wait in a FIFO behind the uploads, landing page included:
  `python -m bench slow` (200 uploads at 50 KB/s) measured GET / at p50 24 s, p99 48 s
  with 32 threads per worker, and p99 0.06 s with 256 (docs/performance.md).
  Tor's per-circuit MaxStreams and PoW limit how many one attacker can open cheaply.
- timeout: for gthread this is the worker *heartbeat*: the worker's main loop tells the
  arbiter it is alive every second whatever its threads are doing, and the arbiter kills a
  worker silent for `timeout` seconds. It is NOT a per-request limit, so it can stay short
  (a hung worker is replaced quickly) while uploads run for hours.
- keepalive: Tor Browser loads a page and its stylesheet over one stream; a circuit
  round trip is 1-3 s, so keep an idle connection 20 s rather than gunicorn's 2 s.
- workers ~ cores: the work is I/O-bound and sealing is streamed; more processes than
  cores only adds memory.
- graceful_timeout: on SIGTERM workers stop accepting and finish what they are doing for
  this long. An hour-long upload cannot finish in time; it is aborted and the source's
  Tor Browser shows an error. The intake writes envelopes to a temporary file and renames
  it only when complete, so an aborted upload leaves nothing behind.
- No access log, error log at "error" on stderr: gunicorn's info lines are only
  start/stop, and nothing about a request (path, time, client) may be recorded. Its
  warnings are not kept: for every malformed request gunicorn warns "Invalid request from
  ip=...: <the request line>" (tests/test_proof_corpus.py replays such requests).
- forwarded_allow_ips/proxy_allow_ips empty: tor connects from 127.0.0.1, which gunicorn
  trusts by default; a source could then set X-Forwarded-* headers that change how the
  request is seen. Nobody is a trusted proxy here.
- The control socket gunicorn 25+ creates in $HOME is off: two servers would collide on
  it, and it would be a way to manage the server that nobody asked for.
"""

from __future__ import annotations

import os
from typing import Any

THREADS_PER_WORKER = 256
HEARTBEAT_TIMEOUT_SECONDS = 60
KEEPALIVE_SECONDS = 20
GRACEFUL_TIMEOUT_SECONDS = 30
# Sealdrop's URLs are short; a long request line is an attack or a mistake.
LIMIT_REQUEST_LINE = 2048
LIMIT_REQUEST_FIELDS = 50
# Large enough for a session cookie and Tor Browser's headers.
LIMIT_REQUEST_FIELD_SIZE = 8190


def default_workers() -> int:
    """One worker per core, at least two so one busy process never stops the service."""
    return max(2, os.cpu_count() or 1)


def gunicorn_options(bind: str, workers: int, graceful_timeout: int) -> dict[str, Any]:
    """The gunicorn settings for one app bound to `bind` (host:port on loopback)."""
    return {
        "bind": [bind],
        "worker_class": "gthread",
        "workers": workers,
        "threads": THREADS_PER_WORKER,
        "worker_connections": 1000,
        "timeout": HEARTBEAT_TIMEOUT_SECONDS,
        "keepalive": KEEPALIVE_SECONDS,
        "graceful_timeout": graceful_timeout,
        "limit_request_line": LIMIT_REQUEST_LINE,
        "limit_request_fields": LIMIT_REQUEST_FIELDS,
        "limit_request_field_size": LIMIT_REQUEST_FIELD_SIZE,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "error",
        "capture_output": False,
        "forwarded_allow_ips": "",
        "proxy_allow_ips": "",
        "secure_scheme_headers": {},
        "control_socket_disable": True,
        # Each worker builds its own app (and database engine) after the fork.
        "preload_app": False,
        "sendfile": False,
    }
