"""Cycle counting: how often each location is counted, which are due, and how accurate
counts have been.

Cadence: a location is counted every ``STOCKROOM_COUNT_CADENCE_DAYS[class]`` days (A 30,
B 90, C 365 by default; a setting, so an installation edits it without a migration),
where its class is the best ABC class (``planning.classes`` on
``headlines.consumption_values``) of the products it holds; a location holding nothing
is C. The nightly plan refreshes ``CountSchedule`` (class, last count, due day) for
every active location; the page reads it, and re-reads the last count of the rows it
shows so a location counted today shows its new due day at once.

Status: overdue when the due day has passed, due when it falls within ``DUE_SOON_DAYS``,
else scheduled. A location never counted is due from the first refresh.

Accuracy: from the ledger's count moves (a count posts a move only where it found a
difference), per month: items with a difference, units found and lost, and their value
(found units at the cost they came in at, lost units at their FIFO cost). Counts that
matched post nothing, so the share of counts without a difference needs a record of
every count, which the ledger does not keep (see the README).
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Max, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from inventory.models import CountRecord, StockLevel, StockMove
from planning import charts, classes, headlines
from planning.models import CountSchedule, PlanRun
from warehouses.models import Location

DUE_SOON_DAYS = 7
OVERDUE, DUE, SCHEDULED = "overdue", "due", "scheduled"
BATCH = 5_000


def cadence() -> dict[str, int]:
    return dict(settings.STOCKROOM_COUNT_CADENCE_DAYS)


def status(due_on: date, today: date) -> str:
    if due_on < today:
        return OVERDUE
    if due_on <= today + timedelta(days=DUE_SOON_DAYS):
        return DUE
    return SCHEDULED


def last_counts(location_ids=None) -> dict[int, datetime]:
    """The time each location was last counted (three grouped queries): its last kept count
    (``CountRecord``, also those without a difference), or its last count move (counts
    posted before records were kept)."""
    moves = StockMove.objects.filter(kind=StockMove.Kind.COUNT)
    sources = [
        (moves.filter(to_location__isnull=False), "to_location", "created_at"),
        (moves.filter(from_location__isnull=False), "from_location", "created_at"),
        (CountRecord.objects.all(), "location", "counted_at"),
    ]
    found: dict[int, datetime] = {}
    for rows, field, time_field in sources:
        if location_ids is not None:
            rows = rows.filter(**{f"{field}__in": location_ids})
        for location_id, at in (
            rows.order_by().values_list(field).annotate(last=Max(time_field)).iterator()
        ):
            if location_id not in found or at > found[location_id]:
                found[location_id] = at
    return found


def location_classes(run: PlanRun | None) -> dict[int, str]:
    """The best ABC class of the products each location holds."""
    product_class = classes.abc_classes(headlines.consumption_values(run))
    best: dict[int, str] = {}
    held = (
        StockLevel.objects.filter(on_hand__gt=0)
        .order_by()
        .values_list("location_id", "product_id")
        .distinct()
        .iterator(chunk_size=10_000)
    )
    for location_id, product_id in held:
        found = product_class.get(product_id, "C")
        if found < best.get(location_id, "D"):
            best[location_id] = found
    return best


def due_day(last: datetime | None, days: int, today: date) -> date:
    if last is None:
        return today
    return timezone.localdate(last) + timedelta(days=days)


def refresh(run: PlanRun | None, today: date | None = None) -> int:
    """Rewrite the schedule of every active location; return how many rows."""
    today = today or timezone.localdate()
    days = cadence()
    best = location_classes(run)
    last = last_counts()
    now = timezone.now()
    rows = []
    for location_id, warehouse_id in Location.objects.filter(active=True).values_list(
        "pk", "warehouse_id"
    ):
        name = best.get(location_id, "C")
        rows.append(
            CountSchedule(
                location_id=location_id,
                warehouse_id=warehouse_id,
                abc_class=name,
                cadence_days=days[name],
                last_counted=last.get(location_id),
                due_on=due_day(last.get(location_id), days[name], today),
                refreshed_at=now,
            )
        )
    with transaction.atomic():
        CountSchedule.objects.all().delete()
        CountSchedule.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


def schedule(state: str, today: date, warehouse=None):
    """Schedule rows in due order, filtered by ``state`` (overdue / due / "" for all)."""
    rows = CountSchedule.objects.select_related("location", "warehouse").order_by(
        "due_on", "location_id"
    )
    if warehouse is not None:
        rows = rows.filter(warehouse=warehouse)
    soon = today + timedelta(days=DUE_SOON_DAYS)
    if state == OVERDUE:
        rows = rows.filter(due_on__lt=today)
    elif state == DUE:
        rows = rows.filter(due_on__gte=today, due_on__lte=soon)
    elif state == "due_or_overdue":
        rows = rows.filter(due_on__lte=soon)
    return rows


def with_live_status(rows: list[CountSchedule], today: date) -> list[CountSchedule]:
    """Re-read the last count of the shown rows (a count today moves the due day at once)."""
    live = last_counts([row.location_id for row in rows])
    for row in rows:
        last = max(filter(None, [row.last_counted, live.get(row.location_id)]), default=None)
        row.last_live = last
        row.due_live = due_day(last, row.cadence_days, today)
        row.status = status(row.due_live, today)
    return rows


def summary(today: date) -> dict:
    """Locations overdue, due within a week, and per class (one query)."""
    soon = today + timedelta(days=DUE_SOON_DAYS)
    return CountSchedule.objects.aggregate(
        overdue=Count("pk", filter=Q(due_on__lt=today)),
        due=Count("pk", filter=Q(due_on__gte=today, due_on__lte=soon)),
        total=Count("pk"),
        a=Count("pk", filter=Q(abc_class="A")),
        b=Count("pk", filter=Q(abc_class="B")),
        c=Count("pk", filter=Q(abc_class="C")),
    )


def accuracy(today: date, months: int = 12) -> list[dict]:
    """Per month (newest first), from every count kept (``CountRecord``): items counted, the
    share counted without a difference, units and value found and lost, and the net."""
    start = (today.replace(day=1) - timedelta(days=31 * (months - 1))).replace(day=1)
    found, lost = Q(difference__gt=0), Q(difference__lt=0)
    rows = (
        CountRecord.objects.filter(
            counted_at__gte=timezone.make_aware(datetime.combine(start, datetime.min.time()))
        )
        .annotate(month=TruncMonth("counted_at"))
        .order_by()
        .values("month")
        .annotate(
            counts=Count("pk"),
            exact=Count("pk", filter=Q(difference=0)),
            differences=Count("pk", filter=~Q(difference=0)),
            units_found=Sum("difference", filter=found, default=0),
            units_lost=Sum(-F("difference"), filter=lost, default=0),
            value_found=Sum("value", filter=found, default=Decimal(0)),
            value_lost=Sum(-F("value"), filter=lost, default=Decimal(0)),
        )
        .order_by("-month")
    )
    out = []
    for row in rows:
        row["net_value"] = row["value_found"] - row["value_lost"]
        row["exact_share"] = round(100 * row["exact"] / row["counts"], 1)
        out.append(row)
    return out


def accuracy_chart(months: list[dict]) -> dict:
    """The share of counts without a difference per month, oldest first, as a line."""
    months = months[::-1]
    labels = [str(row["month"])[:7] for row in months]
    share = [float(row["exact_share"]) for row in months]
    return charts.line_chart(
        labels, [{"key": "exact", "name": "Counts without a difference (%)", "values": share}]
    )
