"""Backups of the whole database, taken while the shop keeps running, and their restore.

SQLite: the online backup API copies a consistent snapshot page by page inside one read
transaction, so writers carry on (WAL) and the copy never holds half a transaction.
PostgreSQL: ``pg_dump --format=custom`` reads one snapshot too; ``pg_restore`` loads it.
Both refuse to restore over a database that already holds tables unless told to
replace it, and check what they wrote before saying it is done.
"""

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why in words."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    tables: int


def default_path(now: datetime | None = None) -> Path:
    """``var/backups/stockroom-YYYYmmdd-HHMMSS`` with the suffix the engine uses."""
    stamp = timezone.localtime(now or timezone.now()).strftime("%Y%m%d-%H%M%S")
    suffix = ".sqlite3" if connection.vendor == "sqlite" else ".dump"
    return Path(settings.BASE_DIR) / "var" / "backups" / f"stockroom-{stamp}{suffix}"


def backup(path: Path | None = None) -> BackupResult:
    """Write a consistent copy of the configured database to ``path`` (never overwrites)."""
    path = Path(path) if path else default_path()
    if path.exists():
        raise BackupError(f"{path} already exists; choose another file name.")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        if connection.vendor == "sqlite":
            tables = _sqlite_backup(Path(connection.settings_dict["NAME"]), partial)
        elif connection.vendor == "postgresql":
            tables = _pg_dump(partial)
        else:  # pragma: no cover - only the two supported engines exist
            raise BackupError(f"Backups of {connection.vendor} are not supported.")
        partial.rename(path)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(path=path, size_bytes=path.stat().st_size, tables=tables)


def restore(path: Path, *, replace: bool = False) -> int:
    """Load the backup at ``path`` into the configured database; return its table count.

    Refuses a target that already holds tables unless ``replace``; a file that is not a
    backup of this engine is refused before anything is touched.
    """
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"No backup file at {path}.")
    if connection.vendor == "sqlite":
        return _sqlite_restore(path, Path(connection.settings_dict["NAME"]), replace=replace)
    if connection.vendor == "postgresql":
        return _pg_restore(path, replace=replace)
    raise BackupError(f"Restores into {connection.vendor} are not supported.")  # pragma: no cover


# --- SQLite -------------------------------------------------------------------------


def _sqlite_tables(db: sqlite3.Connection) -> int:
    return db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]


def _sqlite_check(db: sqlite3.Connection, what: str) -> None:
    result = db.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"{what} failed SQLite's integrity check: {result}")


def _sqlite_backup(source_path: Path, target: Path) -> int:
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # all pages in one step: one consistent snapshot
        _sqlite_check(copy, "The copy")
        return _sqlite_tables(copy)
    finally:
        copy.close()
        source.close()


def _open_backup(path: Path) -> sqlite3.Connection:
    try:
        backup_db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        _sqlite_check(backup_db, f"{path}")
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not an SQLite backup ({exc}).") from exc
    if not _sqlite_tables(backup_db):
        backup_db.close()
        raise BackupError(f"{path} holds no tables; it is not a Stockroom backup.")
    return backup_db


def _sqlite_restore(path: Path, target_path: Path, *, replace: bool) -> int:
    backup_db = _open_backup(path)
    connection.close()
    target_path.parent.mkdir(parents=True, exist_ok=True)
    target = sqlite3.connect(target_path, timeout=30)
    try:
        if _sqlite_tables(target) and not replace:
            raise BackupError(
                f"{target_path} already holds a database; add --replace to overwrite it."
            )
        backup_db.backup(target)
        _sqlite_check(target, "The restored database")
        return _sqlite_tables(target)
    finally:
        target.close()
        backup_db.close()


# --- PostgreSQL ---------------------------------------------------------------------


def _pg_command(program: str, parameters: list[str]) -> tuple[list[str], dict]:
    if not shutil.which(program):
        raise BackupError(f"{program} is not installed (it comes with the PostgreSQL client).")
    args, env = connection.client.settings_to_cmd_args_env(connection.settings_dict, parameters)
    args[0] = program
    return args, env or {}


def _run(args: list[str], env: dict, what: str) -> None:
    result = subprocess.run(
        args, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    if result.returncode:
        raise BackupError(f"{what} failed: {result.stderr.strip() or result.returncode}")


def _pg_tables() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        return cursor.fetchone()[0]


def _pg_dump(target: Path) -> int:
    args, env = _pg_command("pg_dump", ["--format=custom", "--no-owner", f"--file={target}"])
    _run(args, env, "pg_dump")
    listing = subprocess.run(
        ["pg_restore", "--list", str(target)], capture_output=True, text=True, check=False
    )
    if listing.returncode:
        raise BackupError(f"The dump cannot be read back: {listing.stderr.strip()}")
    return sum(1 for line in listing.stdout.splitlines() if " TABLE DATA " in line)


def _pg_restore(path: Path, *, replace: bool) -> int:
    listing = subprocess.run(
        ["pg_restore", "--list", str(path)], capture_output=True, text=True, check=False
    )
    if listing.returncode:
        raise BackupError(f"{path} is not a PostgreSQL backup ({listing.stderr.strip()}).")
    if _pg_tables() and not replace:
        raise BackupError(
            f"Database {connection.settings_dict['NAME']} already holds tables; "
            "add --replace to overwrite it."
        )
    parameters = ["--no-owner", "--exit-on-error", "--single-transaction"]
    if replace:
        parameters += ["--clean", "--if-exists"]
    args, env = _pg_command("pg_restore", [*parameters, "--dbname"])
    args.append(str(path))  # the connection options end with the database name
    connection.close()
    _run(args, env, "pg_restore")
    return _pg_tables()
