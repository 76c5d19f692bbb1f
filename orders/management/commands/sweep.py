from django.core.management.base import BaseCommand

from orders.channels.daily import run_daily


class Command(BaseCommand):
    help = (
        "Nightly housekeeping for sales orders. The task worker runs it by itself a few "
        "seconds after each local midnight (the daily_housekeeping task; `make run` queues "
        "it with `manage.py schedule_daily`), so run this by hand only to do it now. "
        "Every waiting order, oldest first, takes the free stock it can (stock found by a "
        "count or adjustment re-allocates nothing by itself); reservations that can no longer "
        "ship (a lot that expired, a location made inactive or unsellable) are released and "
        "replaced from good stock, or the order waits as backordered; channels with a webhook "
        "hear about products whose lots expired in the last 7 days. Each order is its own "
        "transaction, so the sweep can run while people work."
    )

    def handle(self, *args, **options):
        summary = run_daily()
        self.stdout.write(
            f"Swept {summary['orders']} orders: {summary['allocated_orders']} gained "
            f"{summary['units_allocated']} units, {summary['stale_released']} reservations "
            f"that could no longer ship released, {summary['backordered']} wait for stock."
        )
        if summary["refused"]:
            self.stdout.write(
                self.style.ERROR(
                    f"{summary['refused']} orders were refused by the ledger (see the log)."
                )
            )
        self.stdout.write(
            f"Expired lots: {summary['expired_lot_rows']} webhook outbox rows written."
        )
