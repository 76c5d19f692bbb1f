import time

from django.core.management.base import BaseCommand, CommandError

from inventory.integrity import find_differences


class Command(BaseCommand):
    help = "Recompute balances and cost layers from the ledger; exit non-zero on any difference."

    def handle(self, *args, **options):
        started = time.perf_counter()
        problems = 0
        for line in find_differences():
            problems += 1
            self.stdout.write(line)
        elapsed = time.perf_counter() - started
        if problems:
            raise CommandError(f"{problems} difference(s) between the ledger and the balances.")
        self.stdout.write(self.style.SUCCESS(f"Ledger and balances agree ({elapsed:.1f} s)."))
