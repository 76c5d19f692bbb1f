"""The dashboard ``/``: stock cards for everyone, headline figures and charts for planners.

It lives in planning (above inventory) so it can read the stored plan and the daily
snapshots; inventory keeps the stock selectors it shows. Every figure is read, never
recomputed: the plan's figures from the latest plan (through the snapshot written with
it), values from the snapshots, the demand-vs-stock series from one product's rows.
"""

from datetime import timedelta

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from inventory import selectors
from inventory.models import Product
from planning import charts, cycle_counts, headlines
from planning.models import InventorySnapshot, PlanRun
from planning.reports import movement, stock
from planning.selectors import latest_run

VALUE_DAYS = 90
CARD_PERMISSIONS = {
    "value": "inventory.view_valuation",
    "units": "inventory.view_stocklevel",
    "low_stock": stock.LOW_STOCK.permission,
    "stockouts": stock.STOCKOUTS.permission,
    "overstock": stock.OVERSTOCK.permission,
    "expiring": movement.EXPIRING.permission,
    "incoming": "orders.view_purchaseorder",
    "backorders": "orders.view_salesorder",
    "counts": "inventory.adjust_stock",
}


def link(name: str, query: str = "", args=()) -> str | None:
    """The URL of ``name`` with ``query``, or None while that page does not exist."""
    try:
        return reverse(name, args=args) + (f"?{query}" if query else "")
    except NoReverseMatch:
        return None


def store_snapshots(today) -> list[InventorySnapshot]:
    """The whole store's snapshots of the last ``VALUE_DAYS`` days, oldest first."""
    return list(
        InventorySnapshot.objects.filter(
            warehouse__isnull=True, day__gt=today - timedelta(days=VALUE_DAYS), day__lte=today
        ).order_by("day")
    )


def plan_figures(run: PlanRun | None, snapshot: InventorySnapshot | None) -> dict:
    """The plan's figures: stored with the snapshot of the same run, else counted now."""
    if snapshot is not None and run is not None and snapshot.run_id == run.pk:
        return {
            "skus_below_rop": snapshot.skus_below_rop,
            "stockouts": snapshot.stockouts,
            "overstock_value": snapshot.overstock_value,
            "backorders": snapshot.backorders,
        }
    return headlines.plan_figures(run)


def headline_cards(user, counts, run, snapshot) -> list[dict]:
    """The headline figures, each with the report it is counted from."""
    figures = plan_figures(run, snapshot)
    cards = []
    if snapshot is not None:
        cards.append(
            {
                "key": "value",
                "number": snapshot.value_fifo,
                "money": True,
                "words": f"inventory value (FIFO) on {snapshot.day:%Y-%m-%d}",
                "href": link("valuation_report", f"as_of={snapshot.day:%Y-%m-%d}"),
            }
        )
    cards.append(
        {
            "key": "units",
            "number": counts["units_on_hand"],
            "words": "units on hand",
            # The unfiltered stock list counts only when asked (its pager skips COUNT(*)).
            "href": link("stock_list", "count=1"),
        }
    )
    plan_cards = [
        ("low_stock", figures["skus_below_rop"], "below reorder point", "reports:low_stock"),
        ("stockouts", figures["stockouts"], "stockouts, now or lately", "reports:stockouts"),
        ("overstock", figures["overstock_value"], "tied up in overstock", "reports:overstock"),
    ]
    for key, number, words, name in plan_cards:
        if number is not None:
            money = key == "overstock"
            cards.append(
                {"key": key, "number": number, "words": words, "href": link(name), "money": money}
            )
    if snapshot is not None:
        cards += snapshot_cards(snapshot)
    if figures.get("backorders") is not None:
        cards.append(
            {
                "key": "backorders",
                "number": figures["backorders"],
                "words": "units backordered",
                "href": link("sales_order_list", "status=backordered"),
            }
        )
    if user.has_perm(CARD_PERMISSIONS["counts"]):
        due = cycle_counts.summary(timezone.localdate())
        cards.append(
            {
                "key": "counts",
                "number": due["overdue"],
                "words": "locations overdue for a cycle count",
                "href": link("planning:cycle_counts", "state=overdue"),
            }
        )
    # A card shows only to whoever may open the page it links to.
    return [card for card in cards if user.has_perm(CARD_PERMISSIONS[card["key"]])]


def snapshot_cards(snapshot: InventorySnapshot) -> list[dict]:
    """Expiring value and open purchase order value, as stored with the snapshot."""
    return [
        {
            "key": "expiring",
            "number": snapshot.expiring_value,
            "money": True,
            "words": "in lots expiring within 30 days or expired",
            "href": link("reports:expiring"),
        },
        {
            "key": "incoming",
            "number": snapshot.incoming_value,
            "money": True,
            "words": "on open purchase orders",
            "href": link("purchase_order_list"),
        },
    ]


def value_chart(snapshots: list[InventorySnapshot]) -> dict:
    labels = [snap.day.isoformat() for snap in snapshots]
    return charts.line_chart(
        labels,
        [
            {"key": "fifo", "name": "FIFO", "values": [float(s.value_fifo) for s in snapshots]},
            {
                "key": "average",
                "name": "Moving average",
                "values": [float(s.value_average) for s in snapshots],
            },
        ],
    )


def chosen_product(request, movers: list[dict]) -> Product | None:
    """The product of ``?product=SKU``, else the top mover, else none."""
    sku = request.GET.get("product", "").strip()
    if not sku and movers:
        sku = movers[0]["sku"]
    return Product.objects.filter(sku=sku).first() if sku else None


def insight(request, counts: dict) -> dict:
    """Headline cards and charts (planners only)."""
    today = timezone.localdate()
    run = latest_run()
    snapshots = store_snapshots(today)
    snapshot = snapshots[-1] if snapshots else None
    details = snapshot.details if snapshot is not None else {}
    movers = details.get("top_movers", [])
    product = chosen_product(request, movers)
    return {
        "run": run,
        "snapshot": snapshot,
        "headline": headline_cards(request.user, counts, run, snapshot),
        "value_chart": value_chart(snapshots),
        "value_rows": snapshots,
        "movers_chart": charts.bar_chart(
            [{"label": row["sku"], **row} for row in movers], "units"
        ),
        "channels_chart": charts.bar_chart(
            [{"label": row["channel"], **row} for row in details.get("channels", [])], "units"
        ),
        "abc_chart": charts.bar_chart(
            [{"label": f"Class {row['class']}", **row} for row in details.get("abc", [])],
            "value",
        ),
        "demand_product": product,
    }


@login_required
@permission_required("inventory.view_product", raise_exception=True)
def dashboard(request):
    expired = list(selectors.expired_stock()[:10])
    if expired:
        # Each row's "Quarantine" link moves it to a quarantine location of its warehouse.
        quarantine = selectors.quarantine_by_warehouse()
        for row in expired:
            row.quarantine = quarantine.get(row.location.warehouse_id)
    counts = selectors.dashboard_counts()
    context = {
        "counts": counts,
        "expired_stock": expired,
        "expiring_lots": selectors.expiring_lots()[:10],
        "moves": selectors.recent_moves(10),
    }
    if request.user.has_perm("planning.view_planline"):
        context.update(insight(request, counts))
    return render(request, "planning/dashboard.html", context)
