"""One scan step per station, timed through the Django test client (issue 11).

Each timed request is an htmx POST with a fresh ``scan_id``, as a scanner gun sends
it. The steps before it (the source location, the order …) are posted untimed first,
and the whole repetition runs in a transaction that is rolled back: the station's
state, its log and any stock the step posts are gone again, so every repetition
starts from the same place and the generated data is unchanged. The commit itself is
therefore not in the time; the station's own atomic blocks run as savepoints.

Imports models, so it is imported only after ``django.setup()`` (see bench.run).
"""

import time
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.pages import bench_user
from bench.timing import summarize
from inventory.models import Lot, Product, StockLevel
from orders.models import (
    Channel,
    ChannelWarehouse,
    PurchaseOrder,
    SalesOrder,
    Supplier,
    SupplierProduct,
)
from orders.purchasing import services as purchasing
from orders.sales import services as sales
from scanning.models import StationSession

BENCH_CODE = "SCANBENCH"
ORDERED = 1000  # units on the bench PO: receiving a few per repetition never runs out


@dataclass(frozen=True)
class Step:
    """A timed scan: ``code`` posted to station ``kind`` after the untimed ``before``."""

    kind: str
    name: str
    code: str
    before: tuple[str, ...] = ()


def stocked_level(location_id: int | None = None) -> StockLevel:
    """The untracked balance with the most free units in a storage bin (or in
    ``location_id``): the bench's own order intake commits the best sellers' stock run
    after run, and a move of committed units is refused."""
    levels = (
        StockLevel.objects.filter(location_id=location_id) if location_id else StockLevel.objects
    )
    return (
        levels.filter(
            lot__isnull=True,
            location__kind="storage",
            product__tracking=Product.Tracking.NONE,
            product__fulfilment="stocked",
            product__active=True,
        )
        .annotate(free=F("on_hand") - F("committed"))
        .select_related("product", "location__warehouse")
        .order_by("-free", "id")
        .first()
    )


def fullest_bin_level() -> StockLevel:
    """An untracked item in the bin with the most balances: the location looked up and
    counted, whose contents the count page lists with each scan."""
    fullest = (
        StockLevel.objects.filter(location__kind="storage", on_hand__gt=0, lot__isnull=True)
        .order_by()
        .values("location_id")
        .annotate(n=Count("id"))
        .order_by("-n", "location_id")
        .first()
    )
    return stocked_level(fullest["location_id"])


def gs1_code(lot: Lot) -> str:
    """The lot's GS1 element string: 01 GTIN, 17 expiry when it has one, 10 lot (last)."""
    expiry = f"17{lot.expires_on:%y%m%d}" if lot.expires_on else ""
    return f"01{lot.product.gtin}{expiry}10{lot.code}"


def gs1_lot() -> Lot | None:
    """A lot in stock whose product has a GTIN, so it is scanned as a GS1 string."""
    level = (
        StockLevel.objects.filter(lot__isnull=False, on_hand__gt=0, product__gtin__isnull=False)
        .exclude(product__gtin="")
        .select_related("lot__product")
        .order_by("-on_hand", "id")
        .first()
    )
    return level.lot if level else None


def destination_for(level: StockLevel):
    """Another bin of the same warehouse that already has a balance of the item (a
    replenishment), else one holding other stock: the same kind of transfer at every size
    (a new balance costs two more queries than an existing one)."""
    bins = StockLevel.objects.filter(
        location__warehouse_id=level.location.warehouse_id, location__kind="storage"
    ).exclude(location_id=level.location_id)
    same_item = bins.filter(product_id=level.product_id, lot__isnull=True)
    other = same_item if same_item.exists() else bins.filter(on_hand__gt=0)
    return other.select_related("location").order_by("id").first().location


def bench_purchase_order(product: Product, user) -> PurchaseOrder:
    """A sent PO of ``product`` from the bench supplier, created on the first run."""
    supplier, _ = Supplier.objects.get_or_create(code=BENCH_CODE, defaults={"name": "Scan bench"})
    SupplierProduct.objects.get_or_create(
        supplier=supplier, product=product, defaults={"unit_cost": Decimal("1.00")}
    )
    order = PurchaseOrder.objects.filter(
        supplier=supplier, status=PurchaseOrder.Status.SENT, lines__product=product
    ).first()
    if order is None:
        warehouse = StockLevel.objects.filter(product=product).first().location.warehouse
        order = purchasing.create_order(supplier=supplier, warehouse=warehouse, user=user)
        purchasing.set_line(order=order, product=product, quantity=ORDERED, user=user)
        order = purchasing.mark_sent(order=order, user=user, note="scan bench")
    return order


def bench_sales_order(level: StockLevel, user) -> SalesOrder:
    """An allocated order of one unit of the level's product, created on the first run."""
    channel, created = Channel.objects.get_or_create(
        code=BENCH_CODE, defaults={"name": "Scan bench", "kind": Channel.Kind.WEB_STORE}
    )
    if created:
        ChannelWarehouse.objects.create(
            channel=channel, warehouse=level.location.warehouse, priority=1
        )
    product = level.product
    order, _ = sales.create_order(
        channel=channel,
        external_ref=f"{BENCH_CODE}-{product.sku}",
        customer_name="Scan bench",
        shipping_address="1 Bench Row",
        lines=[{"sku": product.sku, "quantity": 1, "unit_price": product.sell_price}],
        user=user,
    )
    return order


def station_steps(user) -> list[Step]:
    """The timed steps on the generated data, with the orders they need."""
    level = stocked_level()
    sku, source = level.product.sku, level.location.barcode
    destination = destination_for(level).barcode
    po = bench_purchase_order(level.product, user)
    so = bench_sales_order(level, user)
    full = fullest_bin_level()
    lot = gs1_lot()
    steps = [
        Step("lookup", "product (SKU)", sku),
        Step("lookup", "location (fullest bin)", full.location.barcode),
    ]
    if lot is not None:
        steps.append(Step("lookup", "lot (GS1 01+17+10)", gs1_code(lot)))
    steps += [
        Step("putaway", "item, after the source", sku, (source,)),
        Step("putaway", "destination: posts the transfer", destination, (source, sku, "5")),
        Step(
            "count",
            "item, after the location (fullest bin)",
            full.product.sku,
            (full.location.barcode,),
        ),
        Step("receive", "item on the PO, after the PO", sku, (po.number,)),
        Step("receive", "DONE: posts the receipt", "DONE", (po.number, sku, "5")),
    ]
    if so.status == SalesOrder.Status.ALLOCATED:
        pick_location = sales.pick_list(so)[0]["barcode"]
        steps += [
            Step("pick", "order: starts picking", so.number),
            Step("pick", "location, after the order", pick_location, (so.number,)),
        ]
    return steps


def post(client: Client, step: Step, code: str) -> bool:
    """Post one scan as htmx with a fresh scan_id; tell whether the station said yes."""
    response = client.post(
        reverse("scan_station", args=[step.kind]),
        {"code": code, "scan_id": time.perf_counter_ns()},
        headers={"HX-Request": "true"},
    )
    return response.status_code == 200 and "scan-ok" in response.headers.get(
        "HX-Trigger-After-Settle", ""
    )


def repeat(client: Client, step: Step, queries=None) -> tuple[float, bool]:
    """Post the steps before, then time ``step``; roll everything back."""
    with transaction.atomic():
        accepted = all(post(client, step, code) for code in step.before)
        started = time.perf_counter()
        if queries is None:
            accepted = post(client, step, step.code) and accepted
        else:
            with queries:
                accepted = post(client, step, step.code) and accepted
        elapsed = (time.perf_counter() - started) * 1000
        transaction.set_rollback(True)
    return elapsed, accepted


def measure_stations(repeats: int) -> dict:
    """Time each station step ``repeats`` times after two warm-ups; count its queries."""
    user = bench_user()
    for kind in ("lookup", "putaway", "count", "receive", "pick"):
        StationSession.objects.update_or_create(user=user, station=kind, defaults={"state": {}})
    client = Client()
    client.force_login(user)
    steps = station_steps(user)
    results, refused = {}, []
    for step in steps:
        samples = []
        for n in range(2 + repeats):
            elapsed, accepted = repeat(client, step)
            if not accepted:
                refused.append(f"{step.kind}: {step.name} ({step.code})")
                break
            if n >= 2:
                samples.append(elapsed)
        queries = CaptureQueriesContext(connection)
        repeat(client, step, queries)
        results[f"{step.kind}: {step.name}"] = {
            "code": step.code,
            "queries": len(queries),
            **summarize(samples),
        }
    return {"steps": results, "refused": refused}
