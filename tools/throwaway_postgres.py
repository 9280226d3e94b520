"""A throwaway PostgreSQL server for the tests and the benchmark: a new cluster in a temp
folder, listening on a unix socket there only, stopped and removed when done.

    python3 tools/throwaway_postgres.py start [--durable]   # prints the server's URL
    python3 tools/throwaway_postgres.py stop URL

initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` user (Debian's
package makes it) and every server command runs as that user. The tests' cluster trades
durability for speed (fsync off: a crash of the machine loses it, which a throwaway cluster
does not mind); ``--durable`` keeps PostgreSQL's defaults, which the benchmark compares with
SQLite's. Standard library only: ``.ci/run`` calls it before any venv exists.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

USER = "rawdb"
"""The cluster's superuser; trust authentication on the socket only."""
FAST = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
# shared_buffers 128MB default is small for the benchmark's 10k-row transactions; raise it.
COMMON = (
    "-c",
    "listen_addresses=",
    "-c",
    "shared_buffers=256MB",
    "-c",
    "max_connections=200",
    "-c",
    "shared_preload_libraries=pg_stat_statements",
)


class ServerError(RuntimeError):
    """The server could not be made or started (the message says why)."""


def bin_dir() -> Path:
    """Where the server's programs are: PG_BINDIR, else the newest Debian cluster version."""
    given = os.environ.get("PG_BINDIR")
    if given:
        return Path(given)
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise ServerError("no PostgreSQL server programs found (initdb); install postgresql")


def _as_owner(args: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return args
    runuser = shutil.which("runuser")
    if runuser is None:
        raise ServerError("running as root and runuser is missing: cannot act as 'postgres'")
    return [runuser, "-u", "postgres", "--", *args]


def url_of(folder: Path, database: str = "postgres") -> str:
    return f"postgresql://{USER}@/{database}?host={folder}"


def folder_of(url: str) -> Path:
    """The cluster's folder: the socket directory its URL names."""
    hosts = parse_qs(urlsplit(url).query).get("host")
    if not hosts:
        raise ServerError(f"{url}: not a throwaway server's URL (no host=FOLDER)")
    return Path(hosts[0])


def start(*, durable: bool = False) -> str:
    """Make and start a cluster in a new temp folder; return its URL.

    The folder sits directly in the system's temp directory (world-traversable), because the
    server's user must reach it; a project checkout may be private to its owner.
    """
    tools = bin_dir()
    folder = Path(tempfile.mkdtemp(prefix="rawdb-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    run = subprocess.run
    made = run(
        _as_owner(
            [
                str(tools / "initdb"),
                "-D",
                str(data),
                "-U",
                USER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--locale=C",
            ]
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise ServerError(f"initdb failed: {made.stderr.strip() or made.stdout.strip()}")
    options = [*COMMON, "-c", f"unix_socket_directories={folder}"]
    if not durable:
        options += FAST
    started = run(
        _as_owner(
            [
                str(tools / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(folder / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                " ".join(_quoted(options)),
                "start",
            ]
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if started.returncode != 0:
        log = (folder / "server.log").read_text(errors="replace")[-2000:]
        stop(folder)
        raise ServerError(f"the server did not start: {started.stderr.strip()}\n{log}")
    return url_of(folder)


def _quoted(options: list[str]) -> list[str]:
    # pg_ctl passes -o through a shell: keep an empty value (listen_addresses=) as ''.
    return [f"{o}''" if o.endswith("=") else o for o in options]


def stop(folder: Path) -> None:
    """Stop the cluster in ``folder`` (if it runs) and remove the folder."""
    data = folder / "data"
    if (data / "postmaster.pid").exists():
        subprocess.run(
            _as_owner(
                [str(bin_dir() / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
            ),
            capture_output=True,
            check=False,
        )
        deadline = time.monotonic() + 30
        while (data / "postmaster.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop"])
    parser.add_argument("url", nargs="?", help="stop: the URL start printed")
    parser.add_argument("--durable", action="store_true", help="PostgreSQL's default durability")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            print(start(durable=args.durable))
        elif args.url is None:
            parser.error("stop needs the URL start printed")
        else:
            stop(folder_of(args.url))
    except ServerError as exc:
        print(f"throwaway_postgres: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
