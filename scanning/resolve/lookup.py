"""Find what a code names: one UNION query over every key, then one query for the winner.

Each branch of the union is an indexed equality lookup except the SKU in any case, the
lot code and the sales order's external reference, which have no index of their own.
"""

from dataclasses import dataclass
from enum import IntEnum

from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Upper

from inventory.models import Lot, Product, ProductBarcode
from orders.models import PurchaseOrder, SalesOrder
from warehouses.models import Location

from .gs1 import Reading


class Rank(IntEnum):
    """Which key matched; a lower rank wins (the order the issue gives)."""

    GTIN = 1
    BARCODE = 2
    SKU = 3
    SKU_ANY_CASE = 4
    LOCATION = 5
    LOT = 6
    PURCHASE_ORDER = 7
    SALES_ORDER = 8
    SALES_ORDER_REF = 9
    # Not a competitor: the lot a GS1 string names on its product (owner = product id).
    PRODUCT_LOT = 10


@dataclass(frozen=True)
class Candidate:
    rank: Rank
    pk: int
    units: int
    owner: int
    label: str

    @property
    def target(self) -> int:
        """The id of the row the scan means: a barcode stands for its product."""
        return self.owner if self.rank == Rank.BARCODE else self.pk


def candidates(reading: Reading) -> list[Candidate]:
    """Return every row ``reading`` could name, in one query (none when nothing to ask)."""
    query = candidate_query(reading)
    if query is None:
        return []
    return [
        Candidate(Rank(rank), pk, units, owner, label) for rank, pk, units, owner, label in query
    ]


def candidate_query(reading: Reading) -> models.QuerySet | None:
    """Return the UNION of every lookup ``reading`` calls for, or None when there is none."""
    if reading.gs1 and not reading.error:
        branches = gs1_branches(reading)
    else:
        branches = plain_branches(reading)
    if not branches:
        return None
    first, *rest = branches
    return first.union(*rest, all=True).order_by() if rest else first


def gs1_branches(reading: Reading) -> list[models.QuerySet]:
    branches = []
    if reading.gtin:
        branches += gtin_branches(reading.gtin)
        if reading.lot_code:
            lots = Lot.objects.filter(code=reading.lot_code)
            branches += [
                branch(lots.filter(product__gtin=reading.gtin), Rank.PRODUCT_LOT, owner="product"),
                branch(
                    lots.filter(product__barcodes__code=reading.gtin),
                    Rank.PRODUCT_LOT,
                    owner="product",
                ),
            ]
    elif reading.lot_code:
        branches.append(lot_branch(reading.lot_code))
    return branches


def plain_branches(reading: Reading) -> list[models.QuerySet]:
    text = reading.text
    cases = sorted({text, text.upper(), text.lower()})
    branches = gtin_branches(reading.gtin) if reading.gtin else []
    branches += [
        branch(
            ProductBarcode.objects.filter(code__in=cases),
            Rank.BARCODE,
            units=True,
            owner="product",
        ),
        branch(Product.objects.filter(sku=text), Rank.SKU),
        branch(
            Product.objects.alias(sku_upper=Upper("sku")).filter(sku_upper=text.upper()),
            Rank.SKU_ANY_CASE,
            label="sku",
        ),
        branch(Location.objects.filter(barcode__in=cases), Rank.LOCATION),
        lot_branch(text),
        branch(PurchaseOrder.objects.filter(number__in=cases), Rank.PURCHASE_ORDER),
        branch(SalesOrder.objects.filter(number__in=cases), Rank.SALES_ORDER),
        branch(SalesOrder.objects.filter(external_ref=text), Rank.SALES_ORDER_REF, label="number"),
    ]
    return branches


def gtin_branches(gtin: str) -> list[models.QuerySet]:
    return [
        branch(Product.objects.filter(gtin=gtin), Rank.GTIN),
        branch(
            ProductBarcode.objects.filter(code=gtin),
            Rank.BARCODE,
            units=True,
            owner="product",
        ),
    ]


def lot_branch(code: str) -> models.QuerySet:
    return branch(Lot.objects.filter(code=code), Rank.LOT, owner="product", label="product__sku")


def branch(
    queryset: models.QuerySet,
    rank: Rank,
    *,
    units: bool = False,
    owner: str | None = None,
    label: str | None = None,
) -> models.QuerySet:
    """Shape one lookup as a row (rank, pk, units, owner, label) of the union."""
    return (
        queryset.order_by()
        .annotate(
            scan_rank=Value(int(rank), output_field=models.IntegerField()),
            scan_units=F("units") if units else Value(1, models.IntegerField()),
            scan_owner=F(owner) if owner else Value(0, models.BigIntegerField()),
            scan_label=F(label) if label else Value("", models.CharField()),
        )
        .values_list("scan_rank", "pk", "scan_units", "scan_owner", "scan_label")
    )


def load(candidate: Candidate, product_lot: Candidate | None) -> models.Model:
    """Fetch the row ``candidate`` names, with what a station shows of it, in one query."""
    match candidate.rank:
        case Rank.GTIN | Rank.BARCODE | Rank.SKU | Rank.SKU_ANY_CASE if product_lot:
            return Lot.objects.select_related("product").get(pk=product_lot.pk)
        case Rank.GTIN | Rank.BARCODE | Rank.SKU | Rank.SKU_ANY_CASE:
            return Product.objects.get(pk=candidate.target)
        case Rank.LOCATION:
            return Location.objects.select_related("warehouse").get(pk=candidate.pk)
        case Rank.LOT:
            return Lot.objects.select_related("product").get(pk=candidate.pk)
        case Rank.PURCHASE_ORDER:
            return PurchaseOrder.objects.select_related("supplier", "warehouse").get(
                pk=candidate.pk
            )
        case _:
            return SalesOrder.objects.select_related("channel").get(pk=candidate.pk)
