import time

from django.core.management.base import BaseCommand, CommandError

from planning.demo import history_span, seed_plan_demo
from planning.models import PlanLine, PlanRun


class Command(BaseCommand):
    help = (
        "After seed_demo: record the demo's shipments as demand history, set a few "
        "policies (JIT, min / max, manual) and compute the first plan. Does nothing twice."
    )

    def handle(self, *args, **options):
        started = time.perf_counter()
        run = seed_plan_demo()
        if run is None:
            self.stdout.write("The demo plan is there already; nothing changed.")
            return
        if run.status != PlanRun.Status.DONE:
            raise CommandError(f"The demo plan failed: {run.message}")
        span = history_span()
        to_order = PlanLine.objects.filter(run=run, suggested_qty__gt=0).count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo plan: {run.total_count} lines, {to_order} to order, demand history "
                f"of {span.days + 1 if span else 0} days ({time.perf_counter() - started:.1f} s)"
            )
        )
