from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inventory.backup import BackupError, restore
from inventory.integrity import find_differences


class Command(BaseCommand):
    help = (
        "Load a backup made by `manage.py backup` into the configured database "
        "(DATABASE_URL, else the SQLite file), then check the ledger. Stop the "
        "server and workers first."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="The backup file.")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Overwrite a database that already holds tables.",
        )

    def handle(self, *args, path, replace=False, **options):
        try:
            tables = restore(path, replace=replace)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Restored {tables} tables from {path}; checking the ledger…")
        problems = list(find_differences())
        for line in problems:
            self.stdout.write(line)
        if problems:
            raise CommandError(
                f"{len(problems)} difference(s) between the ledger and the balances."
            )
        self.stdout.write(self.style.SUCCESS("Restored; ledger and balances agree."))
