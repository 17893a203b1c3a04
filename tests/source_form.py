"""Fill in the real source form from outside: CSRF token, multipart body (tests only)."""

from __future__ import annotations

import re
import secrets

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(page: str) -> str:
    """The CSRF token of the submission form on the landing page."""
    match = _TOKEN.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def multipart(fields: list[tuple[str, str | tuple[str, bytes]]]) -> tuple[str, bytes]:
    """(Content-Type, body) for fields in order; a tuple value is (filename, content)."""
    boundary = "----sealdrop-test-" + secrets.token_hex(8)
    parts = []
    for name, value in fields:
        if isinstance(value, tuple):
            filename, content = value
            head = (
                f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            )
            parts.append(f"--{boundary}\r\n{head}".encode() + content + b"\r\n")
        else:
            head = f'Content-Disposition: form-data; name="{name}"\r\n\r\n'
            parts.append(f"--{boundary}\r\n{head}{value}\r\n".encode())
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body
