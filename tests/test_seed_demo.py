"""seed_demo: a small run through the ledger, clean ledger, idempotent, deterministic."""

import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from inventory import demo, demo_catalog
from inventory.integrity import find_differences
from inventory.models import CostLayer, Lot, Product, StockLevel, StockMove
from orders.demo import seed_sales
from orders.models import Channel, PurchaseOrder, SalesOrder, SalesOrderLine
from warehouses.models import Location, Warehouse

SMALL = ["--products", "20", "--days", "10"]


def _seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def _snapshot():
    products = list(Product.objects.order_by("sku").values_list("sku", "name", "gtin", "tracking"))
    moves = list(
        StockMove.objects.order_by("created_at", "id").values_list(
            "kind", "product__sku", "lot__code", "quantity", "unit_cost", "from_location__barcode"
        )
    )
    return products, moves


@pytest.mark.django_db(transaction=False)
def test_seed_demo_small_run(db):
    output = _seed(*SMALL)
    assert "20 products" in output
    assert "admin / admin-demo" in output

    assert list(Warehouse.objects.values_list("code", flat=True)) == ["EAST", "MAIN"]
    assert Location.objects.count() == 58
    for warehouse in Warehouse.objects.all():
        kinds = set(warehouse.locations.values_list("kind", flat=True))
        assert kinds == {"storage", "receiving", "shipping", "quarantine"}
    assert Location.objects.filter(depth=2).count() == 40  # bins: zone > aisle > bin
    assert Product.objects.count() == 20
    assert Product.objects.filter(fulfilment="dropship").count() == 1
    assert Product.objects.filter(tracking="lot_expiry").exists()
    assert Product.objects.filter(gtin__isnull=False).count() >= 8
    assert not StockLevel.objects.filter(product__fulfilment="dropship").exists()

    kinds = set(StockMove.objects.values_list("kind", flat=True))
    assert {"receipt", "shipment", "transfer"} <= kinds
    costs = set(CostLayer.objects.values_list("unit_cost", flat=True))
    assert len(costs) > 10, "receipts come in at varying costs"
    first = StockMove.objects.order_by("created_at").first().created_at
    # History starts 10 days back (at 08:00 that day), whatever the time of day now.
    assert timezone.localdate() - timezone.localtime(first).date() >= timedelta(days=10)
    assert StockLevel.objects.aggregate(total=Sum("committed"))["total"] > 0
    # Committed stock comes from sales orders through channels, some shipped, one waiting.
    assert Channel.objects.count() == 3
    statuses = set(SalesOrder.objects.values_list("status", flat=True))
    assert {"shipped", "backordered", "cancelled"} <= statuses
    assert SalesOrderLine.objects.filter(dropship=True).exists()
    assert PurchaseOrder.objects.filter(dropship=True).exists()

    today = timezone.localdate()
    stocked_lots = Lot.objects.filter(stock_levels__on_hand__gt=0).distinct()
    assert stocked_lots.filter(expires_on__lt=today).exists()
    assert stocked_lots.filter(
        expires_on__gte=today, expires_on__lt=today + timedelta(days=30)
    ).exists()

    assert list(find_differences()) == []
    call_command("check_ledger", stdout=io.StringIO())

    user_model = get_user_model()
    assert authenticate(username="admin", password="admin-demo").is_superuser
    manager = authenticate(username="manager", password="manager-demo")
    assert manager.is_staff
    assert manager.has_perm("inventory.adjust_stock")
    assert authenticate(username="buyer", password="buyer-demo").groups.filter(name="buyer")
    assert authenticate(username="clerk", password="clerk-demo").groups.filter(name="clerk")
    assert user_model.objects.count() == 4

    # Second run: detects the seed and changes nothing.
    counts = (StockMove.objects.count(), Product.objects.count(), Lot.objects.count())
    assert "already loaded" in _seed(*SMALL)
    assert (StockMove.objects.count(), Product.objects.count(), Lot.objects.count()) == counts


@pytest.mark.django_db
def test_seed_demo_is_deterministic_for_a_seed():
    savepoint = transaction.savepoint_create()
    demo.seed_demo(seed=7, products=12, days=6, sell=seed_sales)
    first = _snapshot()
    transaction.savepoint_rollback(savepoint)
    assert not Warehouse.objects.exists()
    demo.seed_demo(seed=7, products=12, days=6, sell=seed_sales)
    assert _snapshot() == first
    assert len(first[1]) > 20


def test_generated_catalog_has_a_long_tail():
    import random

    items = demo_catalog.generate_catalog(random.Random(1), 50)
    totals = [sum(item.demand) for item in items]
    assert sum(totals[:5]) > sum(totals[-25:])
    assert len({item.sku for item in items}) == 50


@pytest.mark.skipif(not demo_catalog.UCI_DATA.is_dir(), reason="shared UCI data not present")
def test_uci_catalog_keeps_real_products_only():
    items = demo_catalog.load_uci_catalog()
    skus = {item.sku for item in items}
    assert "85123A" in skus
    assert not skus & {"POST", "BANK CHARGES", "D", "M", "AMAZONFEE"}
    assert all(item.name and item.price > 0 for item in items)


@pytest.mark.django_db
def test_seed_demo_reports_each_stage_with_its_time():
    output = _seed(*SMALL)
    # The stages come before the summary, as they finish.
    before_summary = output[: output.index("Demo data (")]
    stages = [line.strip() for line in before_summary.splitlines()]
    names = [line.rsplit(":", 1)[0] for line in stages]
    assert names == [
        "users",
        "warehouses and locations",
        "products",
        "opening stock",
        "10 days of stock history",
        "suppliers, channels and sales orders",
        "demo passwords",
        "query planner statistics (ANALYZE)",
    ]
    assert all(re.fullmatch(r".+: \d+\.\d s", line) for line in stages)


@pytest.mark.django_db
def test_seed_demo_lists_each_new_login_with_what_it_may_do_once():
    output = _seed(*SMALL)
    assert output.count("manager / manager-demo") == 1
    assert re.search(r"^  clerk / clerk-demo +stock lookup; receiving", output, re.MULTILINE)
    assert demo.login_lines(["clerk"]) == [
        "clerk / clerk-demo       stock lookup; receiving purchase orders; "
        "picking and shipping sales orders"
    ]


@pytest.mark.django_db
def test_seed_demo_ships_weekly_before_the_last_two_weeks():
    demo.seed_demo(seed=3, products=12, days=35, sell=seed_sales)
    today = timezone.localdate()
    days = {
        timezone.localtime(at).date()
        for at in StockMove.objects.filter(kind="shipment").values_list("created_at", flat=True)
    }
    older = {day for day in days if day < today - timedelta(days=demo.DAILY_SHIPPING_DAYS)}
    recent = days - older
    assert older and len({day.weekday() for day in older}) == 1
    assert len(recent) > 7
    assert list(find_differences()) == []


@pytest.mark.django_db
def test_seed_demo_leaves_the_logins_to_make_runs_banner_when_asked():
    output = _seed(*SMALL, "--no-logins")
    assert "Demo data (" in output
    assert "-demo" not in output
    assert get_user_model().objects.count() == 4
