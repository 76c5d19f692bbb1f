"""A large product import: ``manage.py import_products`` of a generated 50 MB CSV file.

Writes a valid file of ``--rows`` products (663,656 rows is the 50 MB file of issue 15),
migrates a fresh SQLite database in a temporary directory, and runs ``manage.py
import_products`` in its own process: wall time and its peak RSS (``ru_maxrss`` of that
child from ``os.wait4``). Meanwhile a probe connection asks SQLite for the write lock
(``BEGIN IMMEDIATE``, then rolls back) every 0.2 s and records how long each wait took:
the longest wait is how long the import kept other writers out. Target: ≤ 60 s and
≤ 300 MB on 2 cores.

    python -m bench.imports --rows 663656
"""

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import ROOT

ROWS = 663_656
PROBE_EVERY = 0.2  # seconds between the probe's write-lock requests


def _gtin13(number: int) -> str:
    """Return a valid EAN-13 in the in-store range 200… for ``number`` (< 10**9)."""
    body = f"200{number:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def write_file(path: Path, rows: int) -> int:
    """Write ``rows`` valid product rows to ``path``; return its size in bytes."""
    trackings = ("none", "none", "lot", "lot_expiry")
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("sku,name,gtin,sell_price,tracking,fulfilment\n")
        for i in range(rows):
            handle.write(
                f"BULK-{i:07d},Imported product {i:07d} mug,{_gtin13(i)},"
                f"{1 + i % 97}.{i % 100:02d},{trackings[i % 4]},stocked\n"
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
    """Ask for SQLite's write lock every ``PROBE_EVERY`` s; keep the wait of each request."""

    def __init__(self, database: Path):
        super().__init__(daemon=True)
        self.database = database
        self.waits: list[float] = []
        self.failures = 0
        self.stopping = threading.Event()

    def run(self):
        connection = sqlite3.connect(self.database, timeout=600, isolation_level=None)
        while not self.stopping.wait(PROBE_EVERY):
            started = time.perf_counter()
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("ROLLBACK")
            except sqlite3.OperationalError:
                self.failures += 1
            self.waits.append(time.perf_counter() - started)
        connection.close()


def run_import(database: Path, csv_file: Path) -> dict:
    """Run ``manage.py import_products`` in a child; return wall s, peak RSS MB and output."""
    probe = WriteProbe(database)
    probe.start()
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "manage.py", "import_products", str(csv_file)],
        cwd=ROOT,
        env=_env(f"sqlite:///{database}"),
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
        "peak_rss_mb": round(usage.ru_maxrss / 1024),  # kilobytes on Linux
        "output": output.strip().splitlines()[-3:],
        "writer_longest_wait_s": round(waits[-1], 1) if waits else None,
        "writer_waits_over_1s": sum(wait > 1 for wait in waits),
        "writer_probes": len(waits),
        "writer_failures": probe.failures,
    }


def measure(rows: int, directory: Path) -> dict:
    """Generate the file, migrate a fresh database, and time the import."""
    csv_file, database = directory / "products.csv", directory / "bench-imports.sqlite3"
    started = time.perf_counter()
    size = write_file(csv_file, rows)
    print(f"  imports: wrote {rows:,} rows, {size / 1e6:.1f} MB", flush=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=_env(f"sqlite:///{database}"),
        check=True,
    )
    print(f"  imports: prepared in {time.perf_counter() - started:.0f} s; importing", flush=True)
    return {"rows": rows, "file_mb": round(size / 1e6, 1), **run_import(database, csv_file)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-imports-") as directory:
        figures = measure(args.rows, Path(directory))
    for name, value in figures.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
