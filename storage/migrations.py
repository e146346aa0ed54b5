"""Schema changes, registered in order and applied once each at start-up.

A migration is a function of the database, registered with ``@migration("0002_...")``. Names
are recorded in the ``migrations`` table. Each migration and its record commit together, and
the "already applied?" check runs inside the same write transaction, so two bots starting at
once apply each migration exactly once. A registered migration never changes; a change to the
schema is a new migration at the end of the list.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlite_utils import Database

from storage.db import write_transaction

Migration = Callable[[Database], None]

MIGRATIONS: list[tuple[str, Migration]] = []

# Bookkeeping only: when a migration ran is never used by a decision, so SQLite's clock is
# acceptable here (open_database has no `now`).
_CREATE_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS migrations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT
"""


class UnknownMigrations(Exception):
    """The database was migrated by a newer upgradebot; running older code on it is refused."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        super().__init__(
            "The database has migrations this version does not know: "
            f"{', '.join(names)}. Run the upgradebot version that created them."
        )


def migration(name: str) -> Callable[[Migration], Migration]:
    def register(fn: Migration) -> Migration:
        if any(existing == name for existing, _ in MIGRATIONS):
            raise ValueError(f"migration {name!r} is registered twice")
        MIGRATIONS.append((name, fn))
        return fn

    return register


def applied_migrations(db: Database) -> list[str]:
    if "migrations" not in db.table_names():
        return []
    return [str(row["name"]) for row in db.query("SELECT name FROM migrations ORDER BY id")]


def apply_migrations(db: Database) -> list[str]:
    """Apply the pending migrations in order; return the names that ran now."""
    db.execute(_CREATE_MIGRATIONS_TABLE)
    known = {name for name, _ in MIGRATIONS}
    unknown = [name for name in applied_migrations(db) if name not in known]
    if unknown:
        raise UnknownMigrations(unknown)
    ran: list[str] = []
    for name, fn in MIGRATIONS:
        with write_transaction(db):
            done = db.execute("SELECT 1 FROM migrations WHERE name = ?", [name]).fetchone()
            if done is not None:
                continue
            fn(db)
            db.execute("INSERT INTO migrations (name) VALUES (?)", [name])
        ran.append(name)
    return ran


@migration("0001_initial")
def _initial(db: Database) -> None:
    # Times are fixed-width UTC ISO-8601 text (storage.db.to_db_time), so comparing the text
    # compares the instants. JSON columns hold objects written by storage.db.to_db_json.
    # Window states are not CHECKed: adding a state must not need a table rebuild.
    statements = [
        """
        CREATE TABLE windows (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            system TEXT NOT NULL,
            target TEXT NOT NULL,
            start_at TEXT NOT NULL,
            end_at TEXT NOT NULL,
            state TEXT NOT NULL,
            proposer TEXT NOT NULL,
            created_at TEXT NOT NULL,
            channel TEXT,
            message_ts TEXT,
            plan TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(plan)),
            decided_by TEXT,
            decided_at TEXT,
            reason TEXT,
            revision INTEGER NOT NULL DEFAULT 0,
            CHECK (end_at > start_at)
        ) STRICT
        """,
        "CREATE INDEX windows_by_system_start ON windows (system, start_at)",
        "CREATE INDEX windows_by_state ON windows (state)",
        """
        CREATE TABLE acknowledgements (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            window_id INTEGER NOT NULL REFERENCES windows (id),
            gate TEXT NOT NULL CHECK (gate IN ('G1', 'G2', 'G3', 'G4', 'G5')),
            user TEXT NOT NULL,
            decision TEXT NOT NULL,
            at TEXT NOT NULL,
            digest TEXT,
            reason TEXT,
            slack_action TEXT
        ) STRICT
        """,
        "CREATE INDEX acknowledgements_by_window ON acknowledgements (window_id, gate, id)",
        """
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            window_id INTEGER REFERENCES windows (id),
            slack_action TEXT,
            before_state TEXT,
            after_state TEXT,
            detail TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail)),
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE
        ) STRICT
        """,
        "CREATE INDEX audit_log_by_window ON audit_log (window_id, id)",
        """
        CREATE TABLE slack_requests (
            key TEXT PRIMARY KEY,
            claimed_at TEXT NOT NULL
        ) STRICT, WITHOUT ROWID
        """,
        "CREATE INDEX slack_requests_by_claimed_at ON slack_requests (claimed_at)",
        """
        CREATE TABLE scheduled_actions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            window_id INTEGER NOT NULL REFERENCES windows (id),
            kind TEXT NOT NULL,
            due_at TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'running', 'done', 'cancelled')),
            created_at TEXT NOT NULL,
            started_at TEXT,
            finished_at TEXT,
            outcome TEXT,
            UNIQUE (window_id, kind, due_at)
        ) STRICT
        """,
        "CREATE INDEX scheduled_actions_by_status_due ON scheduled_actions (status, due_at)",
    ]
    for statement in statements:
        db.execute(statement)
    # The append-only triggers are created by open_database (storage.audit.ensure_append_only)
    # right after the migrations, every time, so a dropped trigger does not stay dropped.


@migration("0002_package_files")
def _package_files(db: Database) -> None:
    # First sight of each package file (storage.packages); a row is never updated.
    db.execute(
        """
        CREATE TABLE package_files (
            name TEXT PRIMARY KEY,
            size INTEGER NOT NULL CHECK (size >= 0),
            sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
            first_seen TEXT NOT NULL
        ) STRICT, WITHOUT ROWID
        """
    )


@migration("0003_check_runs_and_messages")
def _check_runs(db: Database) -> None:
    # Evidence of every details / pre-check / verification run, and the thread messages the
    # bot edits in place (storage.runs).
    from storage.runs import CREATE_TABLES

    for statement in CREATE_TABLES:
        db.execute(statement)


@migration("0004_upgrade_steps")
def _upgrade_steps(db: Database) -> None:
    # One row per trigger of a package step, written before the adapter is called (storage.steps).
    from storage.steps import CREATE_TABLES

    for statement in CREATE_TABLES:
        db.execute(statement)


@migration("0005_window_hotfixes")
def _window_hotfixes(db: Database) -> None:
    # Hotfix packages attached to a window at G2 (storage.hotfixes).
    from storage.hotfixes import CREATE_TABLES

    for statement in CREATE_TABLES:
        db.execute(statement)


@migration("0006_step_runs_before")
def _step_runs_before(db: Database) -> None:
    # The run ids the DMS listed before a step was first triggered (storage.steps), so a lost
    # trigger answer, a Retry or a restart can find the run that trigger began by the DMS's own
    # ids, never by comparing two hosts' clocks (issue 15).
    db.execute("ALTER TABLE upgrade_steps ADD COLUMN runs_before TEXT")


@migration("0007_outbox")
def _outbox(db: Database) -> None:
    # The messages a window's thread is owed, written before Slack is asked (storage.outbox).
    from storage.outbox import CREATE_TABLES

    for statement in CREATE_TABLES:
        db.execute(statement)


@migration("0008_outbox_channel_level")
def _outbox_channel_level(db: Database) -> None:
    # The proposal itself goes through the outbox (a row with no thread), and a thread message
    # owed before its proposal is posted is held (no thread yet) instead of dropped (issue 15).
    from storage.outbox import CHANNEL_LEVEL

    for statement in CHANNEL_LEVEL:
        db.execute(statement)
