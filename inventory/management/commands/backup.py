from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from inventory.backup import BackupError, backup


class Command(BaseCommand):
    help = (
        "Copy the whole database to a file while the shop keeps running "
        "(SQLite: online backup API; PostgreSQL: pg_dump). Default: var/backups/."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", type=Path, help="Where to write the backup.")

    def handle(self, *args, path=None, **options):
        try:
            result = backup(path)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        size = result.size_bytes / 1_048_576
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up {result.tables} tables to {result.path} ({size:.1f} MB)."
            )
        )
