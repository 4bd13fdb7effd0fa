"""A real PostgreSQL server for the tests that need one (the shared-library back end).

The session fixture :func:`postgres_url` uses ``$MUSICXAI_TEST_DATABASE_URL`` when set (a server you run), else
starts a throw-away server with ``scripts/start_postgres.sh`` (which installs Debian's ``postgresql`` when it is
missing) and stops it at the end. If no server can be had the tests that need one FAIL with the reason: the
PostgreSQL back end is never skipped silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "start_postgres.sh"


@pytest.fixture(scope="session")
def postgres_server():
    """The URL of a PostgreSQL server's database on loopback, for the whole test session."""
    given = os.environ.get("MUSICXAI_TEST_DATABASE_URL", "").strip()
    if given:
        yield given
        return
    folder = tempfile.mkdtemp(prefix="musicxai-pg-")  # directly under /tmp: the postgres user must reach it
    os.chmod(folder, 0o755)
    p = subprocess.run(["bash", str(SCRIPT), "start", folder], capture_output=True, text=True, timeout=600)
    if p.returncode != 0 or not p.stdout.strip():
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail("PostgreSQL could not be started for the shared-library tests, so they FAIL rather than skip: "
                    + (p.stderr.strip() or p.stdout.strip() or f"exit status {p.returncode}"), pytrace=False)
    try:
        yield p.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", folder], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the session's server for one test (dropped afterwards)."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres_server, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    base, _, _ = postgres_server.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """The same test on both back ends: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "library.sqlite")
    return request.getfixturevalue("postgres_url")
