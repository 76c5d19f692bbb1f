from django.core.management.base import BaseCommand, CommandError

from orders.channels import tokens as channels
from orders.models import Channel


class Command(BaseCommand):
    help = (
        "Create the channel's API token, or rotate it (the old token stops working), and "
        "print the new token once. Only its hash is stored: keep the printed token."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="The channel's code, e.g. WEB.")

    def handle(self, *args, code, **options):
        channel = Channel.objects.filter(code=code).first()
        if channel is None:
            known = ", ".join(Channel.objects.values_list("code", flat=True)) or "none yet"
            raise CommandError(f"No channel with code {code!r} (channels: {known}).")
        rotated = bool(channel.token_hash)
        token = channels.rotate_token(channel)
        if options["verbosity"] > 0:
            what = "rotated; the old token no longer works" if rotated else "created"
            self.stderr.write(f"API token for {channel.code} {what}. It is shown only this once:")
        self.stdout.write(token)
