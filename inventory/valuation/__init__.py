"""Inventory value as of a date (FIFO and moving average) and COGS and margin for a period.

Everything is computed from the ledger: one streaming pass over the ``StockMove``
rows that change what a product holds (receipts, found and lost units, shipments;
transfers are skipped, they move units without changing their cost), in posting
order (primary key), which is the order the ledger used its FIFO cost layers in.
The pass holds a few numbers per product, never a query per product.

FIFO. Every inbound move opened a cost layer at its ``total_cost``; every outbound
move stored the exact cost of the layers it used up in ``total_cost``. The value of
the layers remaining after a set of moves is therefore the sum of the inbound
costs minus the sum of the outbound costs, to the last of the six decimals: that
is the FIFO value as of a date (all moves posted before the end of that day in
``settings.TIME_ZONE``). FIFO COGS is the stored ``total_cost`` of the shipments in
the period, a lookup. A product's layers are shared by all its locations, so a
warehouse's FIFO value is its quantity at the product's FIFO unit value (product
value / product quantity); the warehouses' shares add up to the product's value.

Moving average (perpetual). The same pass keeps, per product, the quantity and
the average unit cost (six decimals, half-up): an inbound move sets
``(quantity × average + move cost) / (quantity + units in)``; an outbound move
leaves the average unchanged and takes ``units × average`` out. Each shipment is
thus costed at the average of the moment it was posted (``Shipment``). The
average is computed by this replay rather than stored on the move: the replay is
one indexed scan, needs no change to the ledger's write path or to existing rows,
and gives the same numbers for moves posted before this module existed.

Moves posted with an earlier ``at=`` than moves already in the ledger still cost
in posting order (that is what the ledger did); the date cut-off uses their
``created_at``.

Values keep their full precision here; they are rounded to cents only for display
(``cents``), in the CSV and on the page.

Selling prices: revenue is ``quantity × product.sell_price`` unless a prices hook
gives a unit price for a shipment. The hook takes the period's ``Shipment`` records
and returns ``{move_id: unit_price}``, so a sales-order module can look all prices
up in one query. Pass it as ``prices=`` or name it in the setting
``STOCKROOM_SHIPMENT_PRICES`` (a dotted path).

The pass is ``replay``; the rows and totals it yields are in ``results``; this
module assembles the report and holds the public functions.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Sum
from django.utils.module_loading import import_string

from common.csvfiles import SafeWriter
from inventory.models import Product, StockMove
from inventory.valuation.replay import Period, Position, replay
from inventory.valuation.results import (
    AVERAGE,
    CENT,
    FIFO,
    METHODS,
    ZERO,
    CogsReport,
    CogsRow,
    Shipment,
    Valuation,
    ValuationRow,
    cents,
)

__all__ = [
    "AVERAGE",
    "CENT",
    "FIFO",
    "METHODS",
    "ZERO",
    "CogsReport",
    "CogsRow",
    "PricesHook",
    "Shipment",
    "Valuation",
    "ValuationRow",
    "cents",
    "cost_of_goods_sold",
    "csv_lines",
    "end_of_day",
    "inventory_value",
    "report",
    "shipment_costs",
    "start_of_day",
    "write_csv",
]

PricesHook = Callable[[Sequence[Shipment]], Mapping[int, Decimal]]


def start_of_day(day: date) -> datetime:
    """Return the first instant of ``day`` in ``settings.TIME_ZONE``."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def end_of_day(day: date) -> datetime:
    """Return the first instant after ``day`` in ``settings.TIME_ZONE`` (exclusive end)."""
    return start_of_day(day + timedelta(days=1))


# --- assembling the report -----------------------------------------------------------


def _warehouse_id(warehouse) -> int | None:
    return getattr(warehouse, "pk", warehouse)


def _quantities_by_warehouse(until: datetime, warehouse_id: int | None) -> dict:
    """Return ``{(product_id, warehouse_id): units}`` from the moves posted before ``until``."""
    held: dict[tuple[int, int], int] = defaultdict(int)
    moves = StockMove.objects.filter(created_at__lt=until).order_by()
    for side, sign in (("to_location", 1), ("from_location", -1)):
        rows = moves.filter(**{f"{side}__isnull": False})
        if warehouse_id is not None:
            rows = rows.filter(**{f"{side}__warehouse_id": warehouse_id})
        grouped = rows.values_list("product_id", f"{side}__warehouse_id").annotate(
            units=Sum("quantity")
        )
        for product_id, place, units in grouped:
            held[(product_id, place)] += sign * units
    return held


def _products() -> dict[int, tuple[str, str, Decimal]]:
    return {
        pk: (sku, name, price)
        for pk, sku, name, price in Product.objects.order_by().values_list(
            "pk", "sku", "name", "sell_price"
        )
    }


def _valuation_rows(
    positions: dict[int, Position],
    held: dict,
    products: dict,
    *,
    warehouse_id: int | None,
    by_warehouse: bool,
) -> list[ValuationRow]:
    rows = []
    if warehouse_id is None and not by_warehouse:
        for product_id, position in positions.items():
            if position.quantity == 0 and position.fifo_value == 0:
                continue
            sku, name, _price = products[product_id]
            rows.append(
                ValuationRow(
                    product_id=product_id,
                    sku=sku,
                    name=name,
                    warehouse_id=None,
                    quantity=position.quantity,
                    fifo_value=position.fifo_value,
                    average_unit_cost=position.average_cost,
                )
            )
    else:
        for (product_id, place), quantity in held.items():
            position = positions.get(product_id)
            if not quantity or position is None or not position.quantity:
                continue
            sku, name, _price = products[product_id]
            rows.append(
                ValuationRow(
                    product_id=product_id,
                    sku=sku,
                    name=name,
                    warehouse_id=place,
                    quantity=quantity,
                    # The product's layers are shared: this warehouse's share by units.
                    fifo_value=position.fifo_value * quantity / position.quantity,
                    average_unit_cost=position.average_cost,
                )
            )
    rows.sort(key=lambda row: (row.sku, row.warehouse_id or 0))
    return rows


def _resolve_prices(prices: PricesHook | None) -> PricesHook | None:
    if prices is not None:
        return prices
    path = getattr(settings, "STOCKROOM_SHIPMENT_PRICES", None)
    return import_string(path) if path else None


def _cogs_rows(period: Period, products: dict, prices: PricesHook | None) -> list[CogsRow]:
    unit_prices = prices(period.shipments) if prices is not None else {}
    revenue: dict[int, Decimal] = defaultdict(lambda: ZERO)
    priced: dict[int, int] = defaultdict(int)
    for shipment in period.shipments:
        price = unit_prices.get(shipment.move_id)
        if price is not None:
            revenue[shipment.product_id] += shipment.quantity * Decimal(price)
            priced[shipment.product_id] += shipment.quantity
    rows = []
    for product_id, (quantity, fifo_cogs, average_cogs) in period.totals.items():
        sku, name, sell_price = products[product_id]
        rows.append(
            CogsRow(
                product_id=product_id,
                sku=sku,
                name=name,
                quantity=quantity,
                revenue=revenue[product_id] + (quantity - priced[product_id]) * sell_price,
                fifo_cogs=fifo_cogs,
                average_cogs=average_cogs,
            )
        )
    rows.sort(key=lambda row: row.sku)
    return rows


def report(
    *,
    as_of: date | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    warehouse=None,
    by_warehouse: bool = False,
    prices: PricesHook | None = None,
    with_shipments: bool = False,
) -> tuple[Valuation | None, CogsReport | None]:
    """Value the stock as of ``as_of`` and cost the shipments from ``date_from`` to ``date_to``.

    Both come from one pass over the ledger; either part is None when its dates
    are not given. ``warehouse`` (a Warehouse or its pk) limits both to one
    warehouse; ``by_warehouse`` gives one valuation row per product and warehouse;
    ``with_shipments`` keeps each shipment's record (``CogsReport.shipments``; always
    kept when there is a prices hook).
    """
    warehouse_id = _warehouse_id(warehouse)
    until = end_of_day(as_of) if as_of is not None else None
    period = None
    if date_from is not None and date_to is not None:
        prices = _resolve_prices(prices)
        period = Period(
            start=start_of_day(date_from),
            end=end_of_day(date_to),
            warehouse_id=warehouse_id,
            keep_shipments=with_shipments or prices is not None,
        )
    positions = replay(until=until, period=period)
    products = _products()
    valuation = None
    if as_of is not None:
        held = (
            _quantities_by_warehouse(until, warehouse_id)
            if warehouse_id is not None or by_warehouse
            else {}
        )
        valuation = Valuation(
            as_of=as_of,
            warehouse_id=warehouse_id,
            rows=_valuation_rows(
                positions, held, products, warehouse_id=warehouse_id, by_warehouse=by_warehouse
            ),
        )
    cogs = None
    if period is not None:
        cogs = CogsReport(
            date_from=date_from,
            date_to=date_to,
            warehouse_id=warehouse_id,
            rows=_cogs_rows(period, products, prices),
            shipments=period.shipments,
        )
    return valuation, cogs


def inventory_value(*, as_of: date, warehouse=None, by_warehouse: bool = False) -> Valuation:
    """Return each product's quantity, FIFO and moving-average value at the end of ``as_of``."""
    valuation, _ = report(as_of=as_of, warehouse=warehouse, by_warehouse=by_warehouse)
    return valuation


def cost_of_goods_sold(
    *,
    date_from: date,
    date_to: date,
    warehouse=None,
    prices: PricesHook | None = None,
    with_shipments: bool = False,
) -> CogsReport:
    """Return revenue, FIFO and moving-average COGS and margins per product for a period.

    The period runs from the start of ``date_from`` to the end of ``date_to``.
    """
    _, cogs = report(
        date_from=date_from,
        date_to=date_to,
        warehouse=warehouse,
        prices=prices,
        with_shipments=with_shipments,
    )
    return cogs


def shipment_costs(*, date_from: date, date_to: date, warehouse=None) -> list[Shipment]:
    """Return each shipment of the period with its FIFO cost and its moving-average cost."""
    return cost_of_goods_sold(
        date_from=date_from, date_to=date_to, warehouse=warehouse, with_shipments=True
    ).shipments


def csv_lines(valuation: Valuation, method: str) -> Iterable[list]:
    """Yield the CSV's rows: header, ``sku,quantity,value`` per product, then ``TOTAL``."""
    if method not in METHODS:
        raise ValueError(f"Unknown valuation method {method!r}: use fifo or average.")
    yield ["sku", "quantity", "value"]
    for row in valuation.rows:
        yield [row.sku, row.quantity, cents(row.value(method))]
    yield ["TOTAL", valuation.quantity, cents(valuation.value(method))]


def write_csv(valuation: Valuation, method: str, out) -> None:
    """Write the valuation as CSV (values rounded to cents) to the file ``out``."""
    SafeWriter(out, lineterminator="\n").writerows(csv_lines(valuation, method))
