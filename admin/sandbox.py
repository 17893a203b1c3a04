"""Running parsers of untrusted files in a bubblewrap sandbox, never in this process.

A job (see admin/sandbox_worker.py, JOBS) gets one file and returns one result:

    result = run_job("image-metadata", data, ".jpg")        # bytes in, bytes out
    result = run_job("clean-mat2", open_file, ".pdf", Limits(wall_seconds=300))
    result = run_job("some-job", data, ".pdf", args=["3"])  # plain-ASCII parameters

The file is copied into a private tmpfs (`/job/input.EXT`), the only writable place.
The sandbox has fresh namespaces (no network, no other processes), the host's /usr
read-only, a few files of /etc, Python and the Pillow install read-only, and nothing
else: no home, no vault, no keys. Memory, CPU time and file size are limited with
rlimits set before bwrap starts (inherited by everything inside), and the whole tree is
killed after `wall_seconds`.

`run_job` raises SandboxUnavailable when bubblewrap is missing or cannot create its
namespaces (callers then show the tip without what the job would have added, with the
message), and JobFailed when the job crashed, timed out, hit a limit or refused the
file. Its result is untrusted bytes: parse them as such (JSON, or a file to store).

To add a job: a `_job_NAME(path, args) -> bytes` function in sandbox_worker.py, listed
in JOBS there. A job that runs an external program (mat2, pdftoppm, soffice) runs it as a child
of the worker, inside the same sandbox.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

WORKER = Path(__file__).with_name("sandbox_worker.py")
INSTALL_HINT = "Install bubblewrap (Debian/Ubuntu: `sudo apt install bubblewrap`)."
# Files of /etc that Python, mat2, LibreOffice and their libraries read; nothing else of
# /etc (Debian keeps LibreOffice's default configuration in /etc/libreoffice).
ETC_FILES = (
    "ld.so.cache",
    "alternatives",
    "fonts",
    "mime.types",
    "localtime",
    "nsswitch.conf",
    "libreoffice",
)
_ARG = re.compile(r"[A-Za-z0-9_.=:,+-]{1,64}")
_TOP_LEVEL = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


class SandboxError(Exception):
    """A job gave no result; `reason` says why in words for staff."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SandboxUnavailable(SandboxError):
    """bubblewrap is missing or cannot start here: nothing was parsed."""


class JobFailed(SandboxError):
    """The job crashed, timed out, went over a limit or refused the file."""


@dataclass(frozen=True)
class Limits:
    """What one job may use; the defaults suit metadata of a photo."""

    memory_bytes: int = 1024 * 1024 * 1024
    cpu_seconds: int = 20
    wall_seconds: float = 30.0
    output_bytes: int = 64 * 1024 * 1024
    # Room on /job (and in any one file there) beyond the input and the output, for what
    # the job writes on its way (LibreOffice's profile and its PDF).
    scratch_bytes: int = 1024 * 1024


def _site_dir() -> Path:
    """The folder holding the installed Pillow (bound read-only into the sandbox)."""
    spec = importlib.util.find_spec("PIL")
    if spec is None or spec.origin is None:  # pragma: no cover - Pillow is a dependency
        raise SandboxUnavailable("Pillow is not installed.")
    return Path(spec.origin).parent.parent


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in _TOP_LEVEL:
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def _python_binds(python: Path) -> list[str]:
    """Python itself, its prefix and the Pillow install (those not under /usr), read-only."""
    args: list[str] = []
    wanted = {python.parent, Path(sys.base_prefix).resolve(), _site_dir().resolve()}
    for path in sorted(wanted):
        inside = any(path != other and path.is_relative_to(other) for other in wanted)
        if not inside and not path.is_relative_to("/usr"):
            args += ["--ro-bind", str(path), str(path)]
    return args


def bwrap_command(
    bwrap: str, job: str, suffix: str, input_fd: int, limits: Limits, args: Sequence[str] = ()
) -> list[str]:
    """The full command line: the sandbox around the worker."""
    python = Path(os.path.realpath(sys.executable))
    target = f"/job/input{suffix}"
    return [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--clearenv",
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        "--setenv",
        "HOME",
        "/job",
        "--setenv",
        "LANG",
        "C.UTF-8",
        # A tiny /tmp for programs that insist on it (LibreOffice's pipe); before the binds,
        # which may live under /tmp. Jobs point TMPDIR at /job for their files.
        "--size",
        str(1024 * 1024),
        "--tmpfs",
        "/tmp",  # noqa: S108 - a fresh tmpfs inside the sandbox, not the host's /tmp
        *_system_binds(),
        *_python_binds(python),
        "--ro-bind",
        str(WORKER),
        "/sandbox/worker.py",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(limits.output_bytes * 2 + _fd_size(input_fd) + limits.scratch_bytes),
        "--tmpfs",
        "/job",
        "--perms",
        "0600",
        "--file",
        str(input_fd),
        target,
        "--chdir",
        "/job",
        str(python),
        "-I",
        "-B",
        "/sandbox/worker.py",
        str(_site_dir().resolve()),
        job,
        target,
        *args,
    ]


def _fd_size(fd: int) -> int:
    return os.fstat(fd).st_size


def _limit(limits: Limits, file_bytes: int) -> None:
    """Runs in the child before exec: rlimits that bwrap and everything inside inherit."""
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _memory_file(name: str, data: bytes = b"") -> int:
    """A file that lives in memory only (plaintext of a tip never touches the disk)."""
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _read_all(fd: int, limit: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    with os.fdopen(os.dup(fd), "rb") as src:
        return src.read(limit + 1)


def _words(raw: bytes) -> str:
    """The worker's one-line reason, as plain printable ASCII (it is untrusted)."""
    text = raw.decode("ascii", "replace").strip().splitlines()
    line = text[-1] if text else ""
    return re.sub(r"[^ -~]", "?", line)[:200]


def run_job(
    job: str,
    source: bytes | BinaryIO,
    suffix: str,
    limits: Limits | None = None,
    args: Sequence[str] = (),
) -> bytes:
    """Run `job` on `source` (bytes, or a file opened for reading) in the sandbox."""
    limits = limits or Limits()
    if not all(_ARG.fullmatch(a) for a in args):
        raise ValueError("sandbox job arguments are short plain-ASCII words")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(f"bubblewrap (bwrap) is not installed. {INSTALL_HINT}")
    suffix = suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix) else ""
    input_fd = _memory_file("input", source) if isinstance(source, bytes) else source.fileno()
    out_fd, err_fd = _memory_file("stdout"), _memory_file("stderr")
    file_bytes = max(_fd_size(input_fd), limits.output_bytes) + limits.scratch_bytes
    try:
        command = bwrap_command(bwrap, job, suffix, input_fd, limits, args)
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out_fd,
            stderr=err_fd,
            pass_fds=(input_fd,),
            start_new_session=True,
            preexec_fn=lambda: _limit(limits, file_bytes),
        )
        try:
            code = proc.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise JobFailed(
                f"the parser took longer than {limits.wall_seconds:g} s and was stopped"
            ) from None
        err = _read_all(err_fd, 4096)
        if code == 0:
            out = _read_all(out_fd, limits.output_bytes)
            if len(out) > limits.output_bytes:
                raise JobFailed("the parser's output went over the sandbox's limit")
            return out
        if err.startswith(b"bwrap: "):
            raise SandboxUnavailable(
                f"the sandbox cannot start here ({_words(err)}). It needs unprivileged user "
                "namespaces, which Debian and Ubuntu allow by default: ask whoever set up this "
                "laptop to allow them (sysctl kernel.unprivileged_userns_clone=1)."
            )
        if code == 3:
            raise JobFailed(_words(err) or "the parser refused the file")
        if code < 0 or code >= 128:
            number = -code if code < 0 else code - 128
            name = signal.Signals(number).name if number in signal.valid_signals() else number
            raise JobFailed(f"the parser was stopped by a sandbox limit or crashed ({name})")
        raise JobFailed(f"the parser failed (exit {code})")
    finally:
        for fd in (out_fd, err_fd) + ((input_fd,) if isinstance(source, bytes) else ()):
            os.close(fd)
