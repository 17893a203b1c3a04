"""A private PostgreSQL cluster that one test starts, stops and restarts itself (the shared
CI cluster is never touched). Runs as the postgres user, listening on loopback only."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from serve_process import free_port


def postgres_bin() -> Path | None:
    """Where initdb and pg_ctl are: $SEALDROP_TEST_PG_BIN, else Debian's newest."""
    configured = os.environ.get("SEALDROP_TEST_PG_BIN")
    candidates = [configured] if configured else sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    for candidate in reversed(candidates):
        if candidate and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def _as_postgres(*command: str) -> subprocess.CompletedProcess[str]:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, *command], capture_output=True, text=True, timeout=120, check=False
    )


class PrivatePostgres:
    """initdb into a fresh directory; start(), stop() and url for SQLAlchemy."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="sealdrop-private-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        os.chmod(self.dir, 0o700)
        self.data = self.dir / "data"
        done = _as_postgres(
            str(bin_dir / "initdb"),
            *("-D", str(self.data), "-A", "trust", "-U", "postgres"),
            # Never the caller's locale: with none set, initdb makes a SQL_ASCII cluster.
            *("-E", "UTF8", "--locale=C.UTF-8"),
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr[-2000:]}")

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the cluster's postgres database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """pg_ctl start, waiting until it accepts connections."""
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.dir} -c fsync=off"
        )
        done = _as_postgres(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"),
            "-w", "-o", options, "start",
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {done.stdout}{done.stderr}")

    def stop(self) -> None:
        """pg_ctl stop -m fast: connections are cut, as in a database crash or restart."""
        _as_postgres(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-w", "-m", "fast", "stop")

    def destroy(self) -> None:
        """Stop (if running) and remove the cluster's files."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
