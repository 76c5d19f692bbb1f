import time

from django.core.management.base import BaseCommand, CommandError

from orders.channels import webhooks
from orders.models import Channel


class Command(BaseCommand):
    help = (
        "Send waiting stock webhooks: one pass over every active channel with a webhook URL "
        "that has undelivered outbox rows, a failed delivery whose retry time has come, or a "
        "delivery abandoned by a stopped worker. Normally the task queue does this: every "
        "stock change enqueues orders.channels.webhooks.deliver_webhooks and "
        "`manage.py db_worker` runs it; a failed delivery enqueues its retry for its next "
        "attempt time when the task backend can defer (django-tasks-db can). Run this "
        "command from cron, or with --loop as a process, where the backend cannot defer "
        "or to catch up after an outage."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--channel", metavar="CODE", help="Only this channel (its due work, if any)."
        )
        parser.add_argument(
            "--loop",
            action="store_true",
            help="Keep going: run a pass every --interval seconds until stopped.",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=15.0,
            help="Seconds between passes with --loop (default: %(default)s).",
        )

    def handle(self, *args, channel=None, loop=False, interval=15.0, **options):
        if interval <= 0:
            raise CommandError("--interval must be more than 0 seconds.")
        only = None
        if channel:
            only = Channel.objects.filter(code=channel).first()
            if only is None:
                raise CommandError(f"There is no channel with the code “{channel}”.")
        while True:
            self._pass(only)
            if not loop:
                return
            time.sleep(interval)

    def _pass(self, only: Channel | None) -> None:
        channels = webhooks.due_channels()
        if only is not None:
            channels = channels.filter(pk=only.pk)
        codes = dict(channels.values_list("pk", "code"))
        if not codes:
            self.stdout.write("No webhook deliveries due.")
            return
        for channel_id, code in codes.items():
            result = webhooks.deliver_channel(channel_id)
            line = (
                f"{code}: {result['delivered']} delivered, {result['failed']} failed, "
                f"{result['items']} items"
            )
            self.stdout.write(self.style.ERROR(line) if result["failed"] else line)
