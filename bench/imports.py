"""A large product import: ``manage.py import_products`` of a generated 50 MB CSV file.

Writes a valid file of ``--rows`` products (663,656 rows is the 50 MB file of issue 15),
migrates a fresh database (SQLite in a temporary directory, or with ``--database-url``
a new database on that PostgreSQL server, dropped afterwards), and runs ``manage.py
import_products`` in its own process three times: the first import (every row new),
the same file again (every row unchanged) and a file that changes every price (every
row updated). For each: wall time, the child's peak RSS (``ru_maxrss`` from
``os.wait4``), and how long another writer waited. The probe is a second connection
that every 0.2 s asks for the write lock: on SQLite ``BEGIN IMMEDIATE`` (then rolls
back), on PostgreSQL ``SELECT … FOR UPDATE`` of a product that is not in the file and of
the file's first product (as a stock adjustment locks its product row first). The
longest wait is how long the import kept other writers out. Target: ≤ 60 s and
≤ 300 MB on 2 cores. Prints a markdown table at the end.

    python -m bench.imports --rows 663656
    scripts/with_postgres.sh sh -c \
        '.venv/bin/python -m bench.imports --rows 663656 --database-url "$DATABASE_URL"'
"""

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.common import ROOT

ROWS = 663_656
PROBE_EVERY = 0.2  # seconds between the probe's write-lock requests
PROBE_SKU = "PROBE-0"  # a product the import never touches
CASES = (
    ("first", "every row a new product"),
    ("again", "the same file again: every row unchanged"),
    ("changed", "every price changed: every row updated"),
)


def _gtin13(number: int) -> str:
    """Return a valid EAN-13 in the in-store range 200… for ``number`` (< 10**9)."""
    body = f"200{number:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def write_file(path: Path, rows: int, *, price_shift: int = 0) -> int:
    """Write ``rows`` valid product rows to ``path``; return its size in bytes.

    ``price_shift`` changes every row's price (a file that updates every product).
    """
    trackings = ("none", "none", "lot", "lot_expiry")
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("sku,name,gtin,sell_price,tracking,fulfilment\n")
        for i in range(rows):
            handle.write(
                f"BULK-{i:07d},Imported product {i:07d} mug,{_gtin13(i)},"
                f"{1 + price_shift + i % 97}.{i % 100:02d},{trackings[i % 4]},stocked\n"
            )
    return path.stat().st_size


def _env(database_url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "0",
    }


class WriteProbe(threading.Thread):
    """Ask for a writer's lock every ``PROBE_EVERY`` s; keep the wait of each request."""

    def __init__(self, database_url: str):
        super().__init__(daemon=True)
        self.database_url = database_url
        self.waits: list[float] = []
        self.failures = 0
        self.stopping = threading.Event()

    def run(self):
        if self.database_url.startswith("sqlite"):
            self._run_sqlite(urlsplit(self.database_url).path)
        else:
            self._run_postgres()

    def _run_sqlite(self, database: str):
        connection = sqlite3.connect(database, timeout=600, isolation_level=None)
        while not self.stopping.wait(PROBE_EVERY):
            started = time.perf_counter()
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("ROLLBACK")
            except sqlite3.OperationalError:
                self.failures += 1
            self.waits.append(time.perf_counter() - started)
        connection.close()

    def _run_postgres(self):
        import psycopg  # only for PostgreSQL runs

        with psycopg.connect(self.database_url, autocommit=True) as connection:
            while not self.stopping.wait(PROBE_EVERY):
                started = time.perf_counter()
                try:
                    with connection.transaction():
                        connection.execute(
                            "SELECT id FROM inventory_product WHERE sku IN (%s, %s) "
                            "ORDER BY id FOR UPDATE",
                            [PROBE_SKU, "BULK-0000000"],
                        ).fetchall()
                except psycopg.Error:
                    self.failures += 1
                self.waits.append(time.perf_counter() - started)


def run_import(database_url: str, csv_file: Path) -> dict:
    """Run ``manage.py import_products`` in a child; return wall s, peak RSS MB and output."""
    probe = WriteProbe(database_url)
    probe.start()
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "manage.py", "import_products", str(csv_file)],
        cwd=ROOT,
        env=_env(database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    probe.stopping.set()
    probe.join()
    waits = sorted(probe.waits)
    return {
        "exit": os.waitstatus_to_exitcode(status),
        "seconds": round(seconds, 1),
        # CPU time of the import process: on a shared machine wall time also counts waiting
        # for a core (see the load average printed with the table).
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),  # kilobytes on Linux
        "output": output.strip().splitlines()[-3:],
        "writer_longest_wait_s": round(waits[-1], 1) if waits else None,
        "writer_waits_over_1s": sum(wait > 1 for wait in waits),
        "writer_probes": len(waits),
        "writer_failures": probe.failures,
    }


@contextmanager
def fresh_database(server_url: str | None, directory: Path):
    """Yield the URL of an empty database: a SQLite file, or a new PostgreSQL database."""
    if server_url is None:
        yield f"sqlite:///{directory / 'bench-imports.sqlite3'}"
        return
    import psycopg  # only for PostgreSQL runs

    name = f"bench_imports_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(server_url)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _manage(database_url: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=_env(database_url), check=True
    )


def measure(rows: int, directory: Path, server_url: str | None = None) -> list[dict]:
    """Generate the files, migrate a fresh database, and time the three imports."""
    files = {"first": directory / "products.csv", "changed": directory / "changed.csv"}
    files["again"] = files["first"]
    started = time.perf_counter()
    size = write_file(files["first"], rows)
    write_file(files["changed"], rows, price_shift=1)
    print(f"  imports: wrote {rows:,} rows, {size / 1e6:.1f} MB (twice)", flush=True)
    figures = []
    with fresh_database(server_url, directory) as database_url:
        _manage(database_url, "migrate", "--no-input", "-v", "0")
        _manage(
            database_url,
            "shell",
            "--no-imports",
            "-c",
            f"from inventory.models import Product; "
            f"Product.objects.create(sku={PROBE_SKU!r}, name='Write probe')",
        )
        kind = "SQLite" if server_url is None else "PostgreSQL"
        print(f"  imports: {kind} ready in {time.perf_counter() - started:.0f} s", flush=True)
        for case, what in CASES:
            print(f"  imports: {case} ({what}) ...", flush=True)
            result = run_import(database_url, files[case])
            print(f"  imports: {case}: {result}", flush=True)
            figures.append(
                {"database": kind, "case": case, "rows": rows, "file_mb": round(size / 1e6, 1)}
                | result
            )
    return figures


def markdown(figures: list[dict]) -> str:
    """Return the figures as a markdown table (one line per import)."""
    lines = [
        "| database | import | rows | file MB | wall s | CPU s | peak RSS MB "
        "| longest writer wait s | waits > 1 s | probe failures | result |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for f in figures:
        result = f["output"][-1] if f["output"] else f"exit {f['exit']}"
        lines.append(
            f"| {f['database']} | {f['case']} | {f['rows']:,} | {f['file_mb']} "
            f"| {f['seconds']} | {f['cpu_s']} | {f['peak_rss_mb']} | {f['writer_longest_wait_s']} "
            f"| {f['writer_waits_over_1s']} | {f['writer_failures']} | {result} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server (postgres://…) to run on instead of SQLite; the bench "
        "creates its own database there and drops it afterwards",
    )
    args = parser.parse_args(argv)
    before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-imports-") as directory:
        figures = measure(args.rows, Path(directory), args.database_url)
    loads = [" ".join(f"{value:.2f}" for value in load) for load in (before, os.getloadavg())]
    print(f"\nload average before: {loads[0]}, after: {loads[1]} ({os.cpu_count()} CPUs)")
    print(markdown(figures))
    if any(f["exit"] for f in figures):
        sys.exit(1)


if __name__ == "__main__":
    main()
