"""Stands in for admin/sandbox_worker.py in tests/test_admin_sandbox.py: tries, from
inside the real sandbox, what a hostile parser would try, and prints what happened."""

import socket
import sys


def main(job: str, args: list[str]) -> int:
    """`connect:PORT` tries the host's loopback; `read:PATH` tries to read a host file;
    `args` prints the job's arguments."""
    what, _, arg = job.partition(":")
    if what == "args":
        print(" ".join(args))
        return 0
    try:
        if what == "connect":
            socket.create_connection(("127.0.0.1", int(arg)), timeout=2).close()
        elif what == "read":
            with open(arg, "rb") as f:
                f.read(1)
        elif what == "write":
            with open(arg, "wb") as f:
                f.write(b"x")
    except OSError as exc:
        print(f"blocked {type(exc).__name__}")
        return 0
    print("allowed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[2], sys.argv[4:]))  # argv: SITE JOB INPUT ARGS...
