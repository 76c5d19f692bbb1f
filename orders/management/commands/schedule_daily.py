from django.core.management.base import BaseCommand
from django.utils import timezone

from orders.channels.daily import schedule_daily


class Command(BaseCommand):
    help = (
        "Make sure the daily housekeeping task (what `manage.py sweep` does: the sales "
        "sweep and webhooks for lots that expired at midnight) is queued for the task "
        "worker: a few seconds after the next local midnight, or at once when a midnight "
        "was missed while no worker ran. Idempotent: with a run already queued it does "
        "nothing. `make run` calls it before starting `manage.py db_worker`."
    )

    def handle(self, *args, **options):
        when = schedule_daily()
        if when is None:
            self.stdout.write(
                "The daily housekeeping run was already queued (or tasks run inline)."
            )
        else:
            self.stdout.write(
                f"Daily housekeeping queued for {timezone.localtime(when):%Y-%m-%d %H:%M:%S %Z}."
            )
