import json

from django.core.management.base import BaseCommand

from scanning.resolve import resolve


class Command(BaseCommand):
    help = (
        "Print what the scan resolver makes of CODE as one JSON object; "
        "exit 0 when it names something, 1 when it is unknown or invalid."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="the scanned code, e.g. '0104006381333931|10ABC'")
        parser.add_argument(
            "--separator",
            help="character the scanner sends for the GS1 group separator "
            "(default: STOCKROOM_GS1_SEPARATOR)",
        )

    def handle(self, *args, **options):
        scan = resolve(options["code"], separator=options["separator"])
        self.stdout.write(json.dumps(scan.as_json(), ensure_ascii=False))
        if not scan.resolved:
            raise SystemExit(1)
