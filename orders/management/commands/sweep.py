from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from orders.channels import outbox
from orders.sales import services as sales


class Command(BaseCommand):
    help = (
        "Nightly housekeeping for sales orders (run it from cron, e.g. just after midnight). "
        "Every waiting order, oldest first, takes the free stock it can (stock found by a "
        "count or adjustment re-allocates nothing by itself); reservations that can no longer "
        "ship (a lot that expired, a location made inactive or unsellable) are released and "
        "replaced from good stock, or the order waits as backordered; channels with a webhook "
        "hear about products whose lots expired in the last 7 days. Each order is its own "
        "transaction, so the sweep can run while people work."
    )

    def handle(self, *args, **options):
        summary = sales.sweep()
        with transaction.atomic():
            summary["expired_lot_rows"] = outbox.record_expired_lots(timezone.localdate())
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
