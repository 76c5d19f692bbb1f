import time

from django.core.management.base import BaseCommand

from inventory import demo
from orders.demo import seed_sales


class Command(BaseCommand):
    help = (
        "Load demo warehouses, locations, products, users and 90 days of stock history "
        "(through the ledger). Does nothing when the demo data is there already."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=20101201, help="random seed")
        parser.add_argument("--products", type=int, default=200, help="number of products")
        parser.add_argument("--days", type=int, default=90, help="days of history")
        parser.add_argument(
            "--no-logins",
            action="store_true",
            help="do not list the demo logins (make run prints them in its banner)",
        )

    def handle(self, *args, seed: int, products: int, days: int, no_logins: bool, **options):
        started = time.perf_counter()
        result = demo.seed_demo(
            seed=seed,
            products=max(products, 4),
            days=max(days, 1),
            progress=self.progress,
            sell=seed_sales,
        )
        if result is None:
            self.stdout.write("Demo data is already loaded; nothing changed.")
            return
        self.stdout.write(self.style.SUCCESS(f"{result} ({time.perf_counter() - started:.1f} s)"))
        if result.users and not no_logins:
            self.stdout.write("Demo logins (user / password):")
            for line in demo.login_lines(result.users):
                self.stdout.write(f"  {line}")

    def progress(self, stage: str, seconds: float) -> None:
        # One line per stage as it finishes, so a long first load is visibly moving.
        self.stdout.write(f"  {stage}: {seconds:.1f} s")
        self.stdout.flush()
