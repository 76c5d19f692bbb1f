"""Pages measured through the Django test client, and the objects they show.

Imports models, so it is imported only after ``django.setup()`` (see bench.run).
"""

import time

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.timing import summarize
from inventory.models import Product, StockLevel, StockMove
from planning.models import PlanLine, PlanRun
from warehouses.models import Location

BENCH_USER = "bench-manager"


def bench_user():
    """Return the bench's manager account, creating it on the first run."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=BENCH_USER, defaults={"is_staff": True, "is_superuser": True}
    )
    if created:
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name="manager"))
    return user


def pick_targets() -> dict:
    """Choose the objects the pages are measured on: the fastest mover, a zone, a full bin."""
    fastest = (
        StockMove.objects.filter(kind=StockMove.Kind.SHIPMENT)
        .order_by()
        .values("product_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    product = Product.objects.get(pk=fastest["product_id"]) if fastest else Product.objects.first()
    zone = Location.objects.filter(depth=0, kind="storage").order_by("path").first()
    full_bin = (
        StockLevel.objects.filter(on_hand__gt=0)
        .order_by()
        .values("location_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    location = Location.objects.get(pk=full_bin["location_id"]) if full_bin else zone
    word = product.name.split()[0].lower()
    return {"product": product, "zone": zone, "bin": location, "word": word}


def planned_product() -> Product:
    """A product of the latest finished plan with something to order; refuse without a plan.

    The replenishment pages read the stored plan: measuring them without one would time
    an empty page, so a missing plan stops the benchmark instead.
    """
    run = PlanRun.objects.filter(status=PlanRun.Status.DONE).order_by("-id").first()
    if run is None:
        raise SystemExit(
            "No finished plan in the benchmark data: the replenishment pages need one "
            "(the generator runs `manage.py plan`; run it on this database first)."
        )
    line = (
        PlanLine.objects.filter(run=run, suggested_qty__gt=0).order_by("id").first()
        or PlanLine.objects.filter(run=run).order_by("id").first()
    )
    if line is None:
        raise SystemExit(f"The plan of {run.as_of} has no lines: nothing to measure.")
    return line.product


def page_urls(targets: dict) -> dict[str, str]:
    """Return the measured pages by name, pointed at ``targets``."""
    product, zone, location = targets["product"], targets["zone"], targets["bin"]
    planned = planned_product()
    return {
        "dashboard": reverse("dashboard"),
        "product list": reverse("product_list"),
        "product list, search": f"{reverse('product_list')}?q={targets['word']}",
        "product list, filter": f"{reverse('product_list')}?tracking=lot_expiry&active=true",
        "product detail (fastest mover)": reverse("product_detail", args=[product.sku]),
        "stock list, unfiltered": reverse("stock_list"),
        "stock list, one zone": f"{reverse('stock_list')}?location={zone.barcode}",
        "location page (full bin)": reverse("location_detail", args=[location.barcode]),
        "admin StockMove changelist": reverse("admin:inventory_stockmove_changelist"),
        "replenishment": reverse("planning:replenishment"),
        "replenishment, one warehouse": (
            f"{reverse('planning:replenishment')}?warehouse={zone.warehouse.code}"
        ),
        "product planning page": reverse("planning:product", args=[planned.sku]),
        "strategy advisor": reverse("planning:advisor"),
        "strategy advisor, differs, one warehouse": (
            f"{reverse('planning:advisor')}?differs=true&warehouse={zone.warehouse.code}"
        ),
        "demand vs stock chart": reverse("planning:demand_chart", args=[planned.sku]),
        "cycle counts": reverse("planning:cycle_counts"),
    }


def report_urls() -> dict[str, str]:
    """Reports that replay the ledger; measured apart from the pages with their targets."""
    planning_reports = [
        "low_stock",
        "stockouts",
        "overstock",
        "slow_movers",
        "expiring",
        "abc_xyz",
        "turnover",
        "channel_sales",
        "supplier_performance",
    ]
    return {
        "valuation as of today (FIFO and average)": reverse("valuation_report"),
        **{f"report {name}": reverse(f"reports:{name}") for name in planning_reports},
    }


def measure_pages(urls: dict[str, str], repeats: int) -> dict:
    """Time each page ``repeats`` times after a warm-up and count its queries."""
    client = Client()
    client.force_login(bench_user())
    results = {}
    for name, url in urls.items():
        for _ in range(2):  # warm-up: caches, statement preparation
            response = client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{name}: {url} answered {response.status_code}")
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        results[name] = {"url": url, "queries": len(queries), **summarize(samples)}
    return results
