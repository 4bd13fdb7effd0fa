import sqlite3

import psycopg
import pytest

from tests._postgres import database_url, postgres_server, postgres_url  # noqa: F401 - fixtures
from tests._threads import errors_in_threads
from xai import storage
from xai.errors import InputError, ParameterError
from xai.storage import SCHEMA_VERSION, Database


def _tables(db: Database) -> set[str]:
    with db.transaction(write=False) as con:
        if db.kind == "sqlite":
            return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {r[0] for r in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def test_a_new_database_gets_every_table_at_the_current_version(database_url):  # noqa: F811
    db = Database(database_url)
    assert db.version() == SCHEMA_VERSION
    assert {"concepts", "examples", "tcav_runs", "presets", "schema_version"} <= _tables(db)
    assert Database(database_url).version() == SCHEMA_VERSION  # opening again migrates nothing


def test_placeholders_lastrowid_and_rollback_mean_the_same_on_both_back_ends(database_url):  # noqa: F811
    db = Database(database_url)
    with db.transaction(write=True) as con:
        first = con.execute("INSERT INTO tcav_runs (created, model, concepts, targets, layers, parameters, results) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)", ("t", "m", "[]", "[]", "[]", "{}", '{"p": "50%"}')).lastrowid
        con.executemany("INSERT INTO presets (name, view, state, description, created) VALUES (?, ?, ?, ?, ?)",
                        [("a", "tcav", "{}", "", "t"), ("b", "tcav", "{}", "", "t")])
    assert isinstance(first, int) and first >= 1
    with pytest.raises(RuntimeError), db.transaction(write=True) as con:
        con.execute("DELETE FROM presets")
        raise RuntimeError("half-way")
    with db.transaction(write=False) as con:
        assert [r[0] for r in con.execute("SELECT name FROM presets ORDER BY id")] == ["a", "b"]
        assert con.execute("SELECT results FROM tcav_runs WHERE id = ?", (first,)).fetchone() == ('{"p": "50%"}',)


def test_concurrent_writers_lose_nothing(database_url):  # noqa: F811
    db = Database(database_url, timeout=30)
    db.version()

    def writer(w: int) -> None:
        for i in range(10):
            with Database(database_url, timeout=30).transaction(write=True) as con:
                n = con.execute("SELECT COUNT(*) FROM presets").fetchone()[0]
                con.execute("INSERT INTO presets (name, view, state, description, created) VALUES (?, ?, ?, ?, ?)",
                            (f"w{w}-{i}", "tcav", "{}", str(n), "t"))

    assert not errors_in_threads(writer, [(w,) for w in range(4)], timeout=120)
    with db.transaction(write=False) as con:
        counts = sorted(int(r[0]) for r in con.execute("SELECT description FROM presets"))
    # writers are serialised: each saw exactly the rows committed before it
    assert counts == list(range(40))


def test_an_old_sqlite_library_is_migrated_and_keeps_its_rows(tmp_path):
    path = tmp_path / "library.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE concepts (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL,"
                " origin TEXT NOT NULL, author TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL,"
                " metadata TEXT NOT NULL)")
    con.execute("INSERT INTO concepts VALUES (1, 'kept', '', 'user', '', 't', 't', '{}')")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    db = Database(path)
    assert db.version() == SCHEMA_VERSION and "presets" in _tables(db)
    with db.transaction(write=False) as c:
        assert c.execute("SELECT name FROM concepts").fetchall() == [("kept",)]


def test_a_newer_database_is_refused_untouched(database_url):  # noqa: F811
    db = Database(database_url)
    with db.transaction(write=True) as con:
        con.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(InputError, match="newer version of musicxai"):
        Database(database_url).version()


def test_the_url_variable_chooses_the_database(tmp_path, monkeypatch):
    monkeypatch.setenv(storage.URL_ENV, f"sqlite:///{tmp_path / 'shared.sqlite'}")
    db = Database(default=tmp_path / "own.sqlite")
    assert db.kind == "sqlite" and db.path == tmp_path / "shared.sqlite"
    monkeypatch.setenv(storage.URL_ENV, "  ")
    assert Database(default=tmp_path / "own.sqlite").path == tmp_path / "own.sqlite"
    with pytest.raises(InputError, match="not understood"):
        Database("mysql://me:secret@host/db")
    with pytest.raises(ParameterError, match="'timeout'"):
        Database(tmp_path / "x.sqlite", timeout=-1)
    assert storage.describe_url("postgresql://me:secret@db.local:5433/lib") == "postgresql://me@db.local:5433/lib"


def test_an_unreachable_server_is_a_plain_sentence():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    db = Database(f"postgresql://postgres:pw@127.0.0.1:{port}/musicxai", timeout=1)
    with pytest.raises(InputError, match=r"cannot be reached .*nothing was changed\. Check that the database server"):
        db.version()
    with pytest.raises(InputError) as e:
        db.version()
    assert "pw" not in str(e.value)


def test_a_database_that_goes_away_mid_save_keeps_what_was_saved(postgres_url):  # noqa: F811
    db = Database(postgres_url, timeout=5)
    with db.transaction(write=True) as con:
        con.execute("INSERT INTO presets (name, view, state, description, created) VALUES ('kept', 'v', '{}', '', 't')")
    with pytest.raises(InputError, match="cannot be reached.*nothing was changed"), db.transaction(write=True) as con:
        con.execute("INSERT INTO presets (name, view, state, description, created) VALUES ('lost', 'v', '{}', '', 't')")
        pid = con.execute("SELECT pg_backend_pid()").fetchone()[0]
        with psycopg.connect(postgres_url, autocommit=True) as admin:  # the server drops this session
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        con.execute("INSERT INTO presets (name, view, state, description, created) VALUES ('x', 'v', '{}', '', 't')")
    with db.transaction(write=False) as con:  # the next save works again; the half-done one left nothing
        assert con.execute("SELECT name FROM presets").fetchall() == [("kept",)]
