"""What the advisor page reads and the one write it makes.

* ``page_facts(lines)`` — the facts of one page's plan lines from four grouped queries keyed
  by the page's product ids (lots, receipt/shipment costs, dropship offers, dropship
  deliveries): never one query per row, never a replay of the ledger.
* ``summary(run)`` — store-wide figures from two grouped queries over the run's lines.
* ``apply(...)`` — set many policies to their advice in one transaction, or none.

The FIFO-vs-average gap is computed per page row in one grouped query over the product's
moves (the ``move_product_time_idx`` index): FIFO cost of goods sold is the cost stored on
each shipment move (``total_cost``, consumed from the oldest layers); the average is the
quantity-weighted mean unit cost of all its receipts. Gap = FIFO COGS − units shipped ×
average cost: negative when FIFO sold older, cheaper units (prices rising, FIFO profit
inflated), positive when prices fall.
"""

import math
from decimal import Decimal

from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, Count, F, FloatField, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Cast, Sqrt, TruncDate

from inventory.models import Lot, Product, StockMove
from orders.models import PurchaseOrder, PurchaseOrderLine
from orders.purchasing.selectors import dropship_sources
from planning import buffers, policies
from planning.advisor import Facts, annotate_strategy
from planning.errors import NothingSelected, PlanningError
from planning.models import PlanLine, PlanRun, Policy

FLOAT = FloatField()


class StaleAdvice(PlanningError):
    code = "stale_advice"


def _shelf_lives(product_ids) -> dict[int, int]:
    """Shortest received → expiry of each product's lots, in days."""
    shortest: dict[int, int] = {}
    rows = Lot.objects.filter(product_id__in=product_ids, expires_on__isnull=False).values_list(
        "product_id", "received_on", "expires_on"
    )
    for product_id, received, expires in rows:
        days = (expires - received).days
        shortest[product_id] = min(days, shortest.get(product_id, days))
    return shortest


def _costs(product_ids) -> dict[int, dict]:
    """Per product: receipt unit-cost CV and the FIFO-vs-average COGS gap (one grouped query)."""
    receipt = Q(kind=StockMove.Kind.RECEIPT, unit_cost__isnull=False)
    shipment = Q(kind=StockMove.Kind.SHIPMENT, total_cost__isnull=False)
    cost = Cast("unit_cost", FLOAT)
    rows = (
        StockMove.objects.filter(product_id__in=product_ids)
        .filter(receipt | shipment)
        .order_by()
        .values("product_id")
        .annotate(
            n=Count("id", filter=receipt),
            c=Sum(cost, filter=receipt),
            c2=Sum(cost * cost, filter=receipt),
            q=Sum("quantity", filter=receipt),
            qc=Sum(Cast(F("quantity"), FLOAT) * cost, filter=receipt),
            shipped=Sum("quantity", filter=shipment),
            fifo=Sum(Cast("total_cost", FLOAT), filter=shipment),
        )
    )
    found = {}
    for row in rows:
        n, cv, gap = row["n"], None, None
        if n >= 2 and row["c"]:
            mean = row["c"] / n
            variance = max((row["c2"] - n * mean * mean) / (n - 1), 0.0)
            cv = math.sqrt(variance) / mean if mean else None
        if row["q"] and row["shipped"]:
            average = row["qc"] / row["q"]
            gap = Decimal(str(round(row["fifo"] - row["shipped"] * average, 2)))
        found[row["product_id"]] = {"cv": cv, "gap": gap}
    return found


def _dropship(product_ids) -> dict[int, dict]:
    """The best dropship offer per product, with how its supplier delivered dropship orders."""
    best = {}
    for offer in dropship_sources(product_ids).select_related("supplier"):
        best.setdefault(offer.product_id, offer)
    late = Case(
        When(
            Q(order__expected_on__isnull=False)
            & Q(order__shipped_at__isnull=False)
            & Q(shipped_day__gt=F("order__expected_on")),
            then=Value(1),
        ),
        default=Value(0),
        output_field=IntegerField(),
    )
    rows = (
        PurchaseOrderLine.objects.filter(
            order__dropship=True,
            product_id__in=product_ids,
            order__status__in=(PurchaseOrder.Status.RECEIVED, PurchaseOrder.Status.CLOSED),
        )
        .alias(shipped_day=TruncDate("order__shipped_at"))
        .order_by()
        .values("product_id", "order__supplier_id")
        .annotate(
            n=Count("id"),
            late=Sum(late),
            ordered=Sum("quantity_ordered"),
            received=Sum("quantity_received"),
        )
    )
    stats = {(row["product_id"], row["order__supplier_id"]): row for row in rows}
    found = {}
    for product_id, offer in best.items():
        row = stats.get((product_id, offer.supplier_id))
        late_share = short = 0.0
        if row and row["n"]:
            late_share = row["late"] / row["n"]
            short = 1 - row["received"] / row["ordered"] if row["ordered"] else 0.0
        found[product_id] = {"supplier": offer.supplier.code, "late": late_share, "short": short}
    return found


def facts_of(line: PlanLine, lots: dict, costs: dict, dropship: dict) -> Facts:
    """The facts of one plan line (product and supplier loaded) from the grouped reads."""
    product: Product = line.product
    cost = costs.get(line.product_id, {})
    offer = dropship.get(line.product_id)
    daily = line.forecast_daily
    return Facts(
        dropship_product=product.fulfilment == Product.Fulfilment.DROPSHIP,
        history_days=line.history_days,
        pattern=line.pattern,
        forecast_daily=daily,
        on_hand=line.on_hand,
        unit_cost=line.unit_cost,
        sell_price=product.sell_price,
        has_dropship_source=offer is not None,
        supplier=line.supplier.code if line.supplier_id else None,
        lead_time_days=line.lead_time_days,
        sd_lead_time_days=line.sd_lead_time_days,
        late_share=line.late_share,
        perishable=product.tracking == Product.Tracking.LOT_EXPIRY,
        shelf_life_days=lots.get(line.product_id),
        cover_days=line.order_up_to / daily if daily > 0 else None,
        price_cv=cost.get("cv"),
        fifo_gap=cost.get("gap"),
        dropship_supplier=offer["supplier"] if offer else None,
        dropship_late_share=offer["late"] if offer else 0.0,
        dropship_short_share=offer["short"] if offer else 0.0,
    )


def page_facts(lines: list[PlanLine]) -> dict[int, Facts]:
    """``{line id: Facts}`` for the page's lines, in four queries whatever their number."""
    product_ids = sorted({line.product_id for line in lines})
    if not product_ids:
        return {}
    lots, costs, dropship = (
        _shelf_lives(product_ids),
        _costs(product_ids),
        _dropship(product_ids),
    )
    return {line.pk: facts_of(line, lots, costs, dropship) for line in lines}


def current_policies(lines: list[PlanLine]) -> dict[tuple[int, int], Policy]:
    """The stored policies of the page's product × warehouse pairs (one query)."""
    products = {line.product_id for line in lines}
    warehouses = {line.warehouse_id for line in lines}
    rows = Policy.objects.filter(product_id__in=products, warehouse_id__in=warehouses)
    return {(policy.product_id, policy.warehouse_id): policy for policy in rows}


SUMMARY_SECONDS = 15 * 60


def cached_summary(run: PlanRun, rate: float) -> dict:
    """``summary(run, rate)``, computed at most once per run and rate every 15 minutes.

    A run's lines never change once it is done, so the figures are those of the run; only
    the product and dropship-offer facts the counts read can move in between (by at most
    15 minutes). The key names the run's start so a reused id never serves another run.
    """
    key = f"planning-advisor-summary:{run.pk}:{run.started_at.isoformat()}:{rate}"
    found = cache.get(key)
    if found is None:
        found = summary(run, rate)
        cache.set(key, found, SUMMARY_SECONDS)
    return found


def summary(run: PlanRun, rate: float) -> dict:
    """Store-wide: lines per recommended strategy, safety stock value, its yearly holding
    cost, and the stockouts it is expected to avoid per year.

    Per line with safety stock at service level z (k = z; the rounding up to whole units
    is ignored), with σ_DL = √(L̄·σd² + d̄²·σL²), order quantity Q = order-up-to − ROP and
    n = 365·d̄/Q replenishment cycles a year:
      units short avoided a year = Σ n·σ_DL·(G(0) − G(z))  (G: ``buffers.normal_loss``)
      stockout cycles avoided a year = Σ n·(Φ(z) − ½)  (without a buffer a cycle runs out
      with probability ½, with it 1 − Φ(z)).
    Lines are grouped by z in SQL, so G and Φ are evaluated once per service level.
    """
    lines = PlanLine.objects.filter(run=run)
    counts = dict(lines.order_by().values_list("advice").annotate(n=Count("id")))
    quantity = F("order_up_to") - F("reorder_point")
    cycles = Case(
        When(
            Q(forecast_daily__gt=0, order_up_to__gt=F("reorder_point")),
            then=Cast(F("forecast_daily") * 365.0, FLOAT) / Cast(quantity, FLOAT),
        ),
        default=Value(0.0),
        output_field=FLOAT,
    )
    sigma = Sqrt(
        F("lead_time_days") * F("sd_daily_demand") * F("sd_daily_demand")
        + F("forecast_daily")
        * F("forecast_daily")
        * F("sd_lead_time_days")
        * F("sd_lead_time_days"),
        output_field=FLOAT,
    )
    rows = (
        lines.order_by()
        .values("z")
        .annotate(
            value=Sum(Cast("safety_stock", FLOAT) * Cast("unit_cost", FLOAT)),
            cycles=Sum(cycles, filter=Q(safety_stock__gt=0)),
            short=Sum(cycles * sigma, filter=Q(safety_stock__gt=0)),
        )
    )
    value = units = events = 0.0
    for row in rows:
        value += row["value"] or 0.0
        z = row["z"]
        if z is None or not row["cycles"]:
            continue
        units += (row["short"] or 0.0) * (buffers.normal_loss(0) - buffers.normal_loss(z))
        events += row["cycles"] * (buffers.STANDARD_NORMAL.cdf(z) - 0.5)
    value_d = Decimal(str(round(value, 2)))
    return {
        "counts": counts,
        "total": sum(counts.values()),
        "safety_value": value_d,
        "holding_cost": Decimal(str(round(value * rate, 2))),
        "units_avoided": units,
        "stockouts_avoided": events,
    }


@transaction.atomic
def apply(*, run: PlanRun | None, choices: list[tuple[int, str]], user) -> list[Policy]:
    """Set the policy of each chosen line (plan line id, advised strategy) to that strategy.

    Refuses — and changes nothing — when nothing is chosen, when a line is not in the
    latest plan any more, or when its advice changed since the page was shown.
    """
    if not choices:
        raise NothingSelected("Tick at least one product to apply its advice.")
    if run is None:
        raise StaleAdvice("There is no finished plan: nothing to apply.")
    wanted = dict(choices)
    lines = {
        line.pk: line
        for line in annotate_strategy(
            PlanLine.objects.filter(run=run, pk__in=list(wanted)).select_related(
                "product", "warehouse"
            )
        )
    }
    missing = [pk for pk in wanted if pk not in lines]
    if missing:
        raise StaleAdvice(
            "The plan changed since this page was shown (a new plan run): reload the page and "
            "apply again. Nothing was changed."
        )
    changed = [line for pk, line in lines.items() if line.advised != wanted[pk]]
    if changed:
        names = ", ".join(f"{line.product.sku} in {line.warehouse.code}" for line in changed)
        raise StaleAdvice(
            f"The advice for {names} changed since this page was shown: reload the page and "
            "apply again. Nothing was changed.",
            field="line",
        )
    saved = []
    for pk in sorted(lines):
        line = lines[pk]
        saved.append(
            policies.save_policy(
                product=line.product,
                warehouse=line.warehouse,
                user=user,
                values={"kind": line.advised},
            )
        )
    return saved
