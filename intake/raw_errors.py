"""The error answers gunicorn writes itself, for requests too malformed to reach the app
(a bad request line, a line or headers over the limits): made the app's own pages.

gunicorn answers these with `gunicorn.util.write_error`, a bare page with none of the
security headers that echoes the offending request line back. gunicorn has no setting
for it, so each worker replaces that function, after building its app, with one that
sends the app's own error page, rendered once per status at start-up: same look, same
headers, no server name, nothing of the request. tests/test_serve_raw_errors.py checks
the raw bytes through a real gunicorn.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from http import HTTPStatus

from flask import Flask
from werkzeug.exceptions import InternalServerError, default_exceptions

# Every status gunicorn's worker may answer on its own (gunicorn/workers/base.py).
GUNICORN_STATUSES = (400, 403, 414, 417, 431, 500, 501)
# Never part of a page prepared in advance: they belong to a request.
_DROPPED = {"content-length", "set-cookie", "connection", "vary"}

RawWriter = Callable[[socket.socket, int, str, str], None]


def render_error_answers(app: Flask) -> dict[int, bytes]:
    """The full HTTP answer (status line, headers, page) the app gives for each status."""
    answers: dict[int, bytes] = {}
    for status in GUNICORN_STATUSES:
        exception = default_exceptions.get(status, InternalServerError)()
        with app.test_request_context("/"):
            # The app's error handler for the status (its page), then its after_request
            # hooks (the security headers), as for any answer of the app.
            result = app.handle_http_exception(exception)
            response = app.process_response(app.make_response(result))
        body = response.get_data()
        lines = [f"HTTP/1.1 {status} {_reason(status)}"]
        lines += [f"{name}: {value}" for name, value in response.headers.items()
                  if name.lower() not in _DROPPED]  # fmt: skip
        lines += [f"Content-Length: {len(body)}", "Connection: close"]
        answers[status] = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    return answers


def _reason(status: int) -> str:
    """The standard reason phrase (never gunicorn's wording)."""
    return HTTPStatus(status).phrase


def raw_error_writer(answers: dict[int, bytes]) -> RawWriter:
    """A stand-in for gunicorn.util.write_error that sends our prepared answer."""
    from gunicorn.util import write_nonblock

    def write_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
        # reason and mesg are gunicorn's, built from the request: never sent.
        answer = answers.get(status_int) or answers[400 if status_int < 500 else 500]
        write_nonblock(sock, answer)

    return write_error


def use_app_error_pages(app: Flask) -> None:
    """Make this worker's gunicorn answer malformed requests with the app's error pages."""
    from gunicorn import util

    util.write_error = raw_error_writer(render_error_answers(app))
