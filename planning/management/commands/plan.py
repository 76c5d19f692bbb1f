import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from planning.models import PlanRun
from planning.plan import run_plan


def parse_day(text: str | None) -> date | None:
    """Return the ``YYYY-MM-DD`` date, or None when not given."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--as-of must be a date as YYYY-MM-DD, got {text!r}.") from None


class Command(BaseCommand):
    help = (
        "Compute the replenishment plan (forecasts, policies, suggestions) for every "
        "product × warehouse and store it for the pages; prints progress, exits 1 on failure."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="Plan as of this day (YYYY-MM-DD; default today).")

    def handle(self, *args, as_of=None, **options):
        self.started = time.perf_counter()
        run = run_plan(as_of=parse_day(as_of), progress=self.progress)
        if run.status != PlanRun.Status.DONE:
            raise CommandError(f"Plan {run.pk} failed: {run.message}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Plan {run.pk} as of {run.as_of}: {run.total_count} lines "
                f"in {time.perf_counter() - self.started:.1f} s."
            )
        )

    def progress(self, run: PlanRun) -> None:
        done = f" ({run.done_count}/{run.total_count})" if run.done_count else ""
        elapsed = time.perf_counter() - self.started
        self.stdout.write(f"  [{elapsed:6.1f} s] {run.stage}{done}")
        self.stdout.flush()
