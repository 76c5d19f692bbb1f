"""The dashboard: headline figures from the plan and the snapshot, charts drawn from stored
rows, permissions, and a query count that does not grow with the data."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from inventory import ledger
from inventory.models import Product
from orders.models import PurchaseOrderLine, SalesOrder, Supplier, SupplierProduct
from planning import snapshots
from planning.models import ImportedDemand, InventorySnapshot
from planning.plan import run_plan
from planning.tests.factories import plan_line
from planning.tests.world import world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def store(plan, locations, catalogue):
    """Plan lines with a known answer for every rule, stock worth 250.00, one snapshot.

    By the reports' rules. Below ROP (available + incoming − open demand < ROP): MUG
    (30 − 3 < 42), CUP (0 < 42), JAR in WH1 (30 < 42) — JAR in WH2 has ROP 3, PAN has none,
    LID holds 2000. Stockout: CUP. Overstock (default cover 120 days): LID, 2000 − 4.2 ×
    120 = 1496 units at 1.00. Backordered: 3 MUG.
    """
    lines = plan["lines"]
    p = catalogue["products"]
    lines["mug"].open_demand = 3
    lines["cup"].available = 0
    lines["pan"].reorder_point = 0
    lines["lid"].available = 2000
    lines["lid"].unit_cost = Decimal("1.00")
    for line in lines.values():
        line.save()
    ledger.receive(product=p["MUG-1"], location=locations["bin1"], quantity=100, unit_cost="2.50")
    today = timezone.localdate()
    ImportedDemand.objects.create(
        product=p["MUG-1"], warehouse=locations["bin1"].warehouse, day=today, quantity=9
    )
    ImportedDemand.objects.create(
        product=p["CUP-1"],
        warehouse=locations["bin1"].warehouse,
        day=today - timedelta(days=2),
        quantity=4,
        channel="shop",
    )
    snapshot = snapshots.write_snapshot(today, plan["run"])
    return {**plan, "snapshot": snapshot, "products": p}


def test_snapshot_figures_by_hand(store):
    snap = store["snapshot"]
    assert snap.warehouse is None and snap.run == store["run"]
    assert (snap.value_fifo, snap.value_average, snap.units) == (
        Decimal("250.00"),
        Decimal("250.00"),
        100,
    )
    assert (snap.skus_below_rop, snap.stockouts, snap.backorders) == (3, 1, 3)
    assert snap.overstock_value == Decimal("1496.00")
    assert snap.incoming_value == Decimal("0.00")
    assert snap.details["top_movers"] == [
        {"product_id": store["products"]["MUG-1"].pk, "sku": "MUG-1", "units": 9},
        {"product_id": store["products"]["CUP-1"].pk, "sku": "CUP-1", "units": 4},
    ]
    assert [(c["channel"], c["units"], c["revenue"]) for c in snap.details["channels"]] == [
        ("imported", 9, None),  # imported history has no prices
        ("shop", 4, None),
    ]
    per_warehouse = InventorySnapshot.objects.filter(day=snap.day, warehouse__isnull=False)
    assert [(s.warehouse.code, s.units) for s in per_warehouse] == [("WH1", 100)]


def test_abc_share_uses_the_shared_classes(store):
    # Consumption value = forecast 4.2/day × 365 × unit cost, summed per product.
    abc = {row["class"]: row for row in store["snapshot"].details["abc"]}
    assert sum(row["products"] for row in abc.values()) == 5  # LID has a cost on its line now
    assert abc["A"]["products"] >= 1
    total = sum(Decimal(row["value"]) for row in abc.values())
    expected = Decimal(str(4.2 * 365)) * (
        Decimal("2.50") + Decimal("1.20") + Decimal("3.00") * 2 + Decimal("15.00") + 1
    )
    assert abs(total - expected) < Decimal("0.05")


def test_expiring_value_at_fifo_unit_value(store, locations, lot_product):
    today = timezone.localdate()
    ledger.receive(
        product=lot_product,
        location=locations["bin2"],
        quantity=4,
        unit_cost="3.00",
        lot_code="SOON",
        expires_on=today + timedelta(days=10),
    )
    ledger.receive(
        product=lot_product,
        location=locations["bin2"],
        quantity=6,
        unit_cost="3.00",
        lot_code="LATE",
        expires_on=today + timedelta(days=90),
    )
    snap = snapshots.write_snapshot(today, store["run"])
    assert snap.expiring_value == Decimal("12.00")
    assert InventorySnapshot.objects.filter(day=today, warehouse__isnull=True).count() == 1


def headline(html: str) -> dict[str, tuple[str | None, str]]:
    """``{key: (href, number)}`` of the headline cards."""
    found = re.findall(
        r'<li class="card headline-card" data-key="(\w+)">(?:<a href="([^"]+)">)?'
        r'<span class="card-number">([^<]+)</span>',
        html,
    )
    return {key: (href or None, number) for key, href, number in found}


def test_manager_sees_every_headline_figure(client, manager, store):
    client.force_login(manager)
    html = client.get(reverse("dashboard")).content.decode()
    cards = headline(html)
    assert list(cards) == [
        "value",
        "units",
        "low_stock",
        "stockouts",
        "overstock",
        "expiring",
        "incoming",
        "backorders",
        "counts",
    ]
    numbers = {key: number for key, (_, number) in cards.items()}
    assert numbers["value"] == "250.00"
    assert (numbers["units"], numbers["low_stock"], numbers["stockouts"]) == ("100", "3", "1")
    assert numbers["overstock"] == "1,496.00"
    assert numbers["backorders"] == "3"
    day = store["snapshot"].day.isoformat()
    assert cards["value"][0] == f"{reverse('valuation_report')}?as_of={day}"
    assert cards["backorders"][0] == f"{reverse('sales_order_list')}?status=backordered"


def test_the_value_card_is_what_the_valuation_report_says(client, manager, store):
    client.force_login(manager)
    href, number = headline(client.get(reverse("dashboard")).content.decode())["value"]
    stock = client.get(href).context["stock"]
    assert f"{stock.fifo_value:.2f}" == number


@pytest.mark.parametrize("key", ["low_stock", "stockouts", "overstock", "expiring"])
def test_plan_cards_link_to_their_reports_with_the_same_figure(
    client, manager, store, key, locations, lot_product
):
    today = timezone.localdate()
    for code, days, quantity in (("OLD", -2, 3), ("SOON", 10, 4), ("LATE", 90, 6)):
        ledger.receive(
            product=lot_product,
            location=locations["bin2"],
            quantity=quantity,
            unit_cost="3.00",
            lot_code=code,
            expires_on=today + timedelta(days=days),
        )
    snapshots.write_snapshot(today, store["run"])
    client.force_login(manager)
    href, number = headline(client.get(reverse("dashboard")).content.decode())[key]
    assert href == reverse(f"reports:{key}")
    response = client.get(href)
    assert response.status_code == 200
    if key == "overstock":
        totals = dict(response.context["totals"])
        assert f"{totals['Value tied up above the cover']:,}" == number
    elif key == "expiring":
        column = [c.header for c in response.context["report"].columns].index("Value")
        value = sum(row[column][0] for row in response.context["table"])
        assert number == f"{value:,.2f}" == "21.00"  # OLD and SOON: 7 units at 3.00
    else:
        assert response.context["page_obj"].paginator.count == int(number)


def test_clerk_sees_stock_cards_only_and_anonymous_logs_in(client, clerk, store):
    assert client.get(reverse("dashboard")).status_code == 302
    client.force_login(clerk)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert headline(response.content.decode()) == {}
    assert "<svg" not in response.content.decode()


def series_counts(html: str) -> dict[str, int]:
    """``{figure id: number of <g class="series"> in its svg}``."""
    counts = {}
    for figure_id, body in re.findall(
        r'<figure class="chart-box[^"]*" id="chart-(\w+)">(.*?)</figure>', html, re.S
    ):
        svg = re.search(r"<svg.*?</svg>", body, re.S)
        counts[figure_id] = len(re.findall(r'<g class="series', svg.group(0))) if svg else 0
    return counts


def test_charts_draw_the_expected_series(client, manager, store):
    client.force_login(manager)
    html = client.get(reverse("dashboard")).content.decode()
    assert series_counts(html) == {
        "value": 2,  # FIFO and moving average
        "movers": 1,
        "channels": 1,
        "abc": 1,
    }
    # Demand vs stock of the top mover loads after the page (htmx), a plain link without it.
    url = reverse("planning:demand_chart", args=["MUG-1"])
    assert f'hx-get="{url}"' in html and f'<a href="{url}">' in html
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert fragment.count('<g class="series') == 5  # demand, on hand, forecast, ROP, SS
    chosen = client.get(reverse("dashboard"), {"product": "CUP-1"}).content.decode()
    assert reverse("planning:demand_chart", args=["CUP-1"]) in chosen


def test_value_chart_reads_the_snapshots_not_the_ledger(client, manager, store):
    today = store["snapshot"].day
    InventorySnapshot.objects.create(
        day=today - timedelta(days=1),
        value_fifo=Decimal("777.00"),
        value_average=Decimal("700.00"),
        units=5,
    )
    client.force_login(manager)
    response = client.get(reverse("dashboard"))
    rows = [(s.day, s.value_fifo) for s in response.context["value_rows"]]
    assert rows == [(today - timedelta(days=1), Decimal("777.00")), (today, Decimal("250.00"))]
    chart = response.context["value_chart"]
    assert [s["key"] for s in chart["series"]] == ["fifo", "average"]
    assert chart["high"] == 777.0


def add_rows(catalogue, warehouse, run, count: int):
    supplier = Supplier.objects.create(code="MORE", name="More", email="m@example.com")
    for index in range(count):
        product = Product.objects.create(sku=f"X-{index}", name=f"X {index}")
        offer = SupplierProduct.objects.create(
            supplier=supplier, product=product, unit_cost="1.00", preferred=True
        )
        plan_line(run, product, warehouse, offer, available=index)
        ImportedDemand.objects.create(
            product=product, warehouse=warehouse, day=timezone.localdate(), quantity=index + 1
        )


def test_query_count_does_not_grow_with_rows(
    client, manager, store, catalogue, warehouse, django_assert_max_num_queries
):
    client.force_login(manager)
    with django_assert_max_num_queries(16) as small:
        client.get(reverse("dashboard"))
    assert len(small.captured_queries) == 16
    add_rows(catalogue, warehouse, store["run"], 15)
    snapshots.write_snapshot(store["snapshot"].day, store["run"])
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse("dashboard"))
    assert len(response.context["movers_chart"]["bars"]) == snapshots.TOP_MOVERS


def test_backfill_writes_past_values_from_the_ledger(store, locations):
    p = store["products"]
    today = timezone.localdate()
    ledger.receive(
        product=p["CUP-1"],
        location=locations["bin1"],
        quantity=10,
        unit_cost="1.00",
        at=timezone.now() - timedelta(days=3),
    )
    assert snapshots.backfill(5, today) == 4  # today has its snapshot already
    values = dict(
        InventorySnapshot.objects.filter(warehouse__isnull=True).values_list("day", "value_fifo")
    )
    assert values[today - timedelta(days=4)] == Decimal("0.00")
    assert values[today - timedelta(days=3)] == Decimal("10.00")
    assert values[today] == Decimal("250.00")  # written before the late receipt, kept
    assert snapshots.backfill(5, today) == 0


def test_the_plan_writes_the_snapshot_the_chart_reads(client, manager, store):
    run = run_plan()
    snap = InventorySnapshot.objects.get(day=run.as_of, warehouse__isnull=True)
    assert snap.run == run and snap.value_fifo == Decimal("250.00")
    client.force_login(manager)
    response = client.get(reverse("dashboard"))
    assert response.context["snapshot"] == snap
    assert response.context["value_chart"]["series"][0]["last"] == 250.0


def test_sales_per_channel_and_incoming_value_by_hand(world):  # noqa: F811
    """Two orders of the web shop in the last 30 days, one 40 days ago, one cancelled; an
    open purchase order of 12 at 2.00 with 5 received."""
    mug = world.product("MUG-9", cost="2.00")
    today = timezone.localdate()
    world.sell(mug, 3, today - timedelta(days=1))
    world.sell(mug, 2, today - timedelta(days=29))
    world.sell(mug, 7, today - timedelta(days=40))
    cancelled = world.sell(mug, 50, today - timedelta(days=2))
    SalesOrder.objects.filter(pk=cancelled.pk).update(status=SalesOrder.Status.CANCELLED)
    world.purchase(mug, 12)
    PurchaseOrderLine.objects.filter(product=mug).update(quantity_received=5)
    snap = snapshots.write_snapshot(today, None)
    assert snap.details["channels"] == [{"channel": "Web shop", "units": 5, "revenue": "49.95"}]
    assert snap.details["top_movers"] == [{"product_id": mug.pk, "sku": "MUG-9", "units": 5}]
    assert snap.incoming_value == Decimal("14.00")  # 7 open units × 2.00
    assert snap.skus_below_rop is None and snap.details["abc"][0]["products"] == 0  # no plan


def test_buyer_sees_only_the_cards_whose_pages_they_may_open(client, buyer, store):
    client.force_login(buyer)
    cards = headline(client.get(reverse("dashboard")).content.decode())
    assert list(cards) == ["units", "low_stock", "stockouts", "incoming", "backorders"]
    for href, _ in cards.values():
        assert client.get(href).status_code == 200, href
