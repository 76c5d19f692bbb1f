"""Fixtures for the ledger tests: lots, a snapshot of every ledger table, refusal checks."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from common.testing import refused_unchanged

LEDGER_TABLES = ("StockLevel", "StockMove", "ReservationEntry", "CostLayer", "Lot", "CountRecord")


def ledger_snapshot() -> dict[str, list[tuple]]:
    """Return every row of the ledger tables as plain tuples, ordered by primary key."""
    from django.apps import apps

    snapshot = {}
    for name in LEDGER_TABLES:
        model = apps.get_model("inventory", name)
        fields = [field.attname for field in model._meta.concrete_fields]
        snapshot[name] = list(model.objects.order_by("pk").values_list(*fields))
    return snapshot


def refused(error_class, code: str, *fragments: str):
    """Expect ``error_class`` with ``code``, a message naming ``fragments``, and no change."""
    return refused_unchanged(ledger_snapshot, error_class, code, *fragments)


@pytest.fixture
def today() -> date:
    return timezone.localdate()


@pytest.fixture
def lot(lot_product, today):
    """A lot of ``lot_product`` that expires in a year."""
    from inventory.models import Lot

    return Lot.objects.create(
        product=lot_product, code="L-2030", expires_on=today + timedelta(365)
    )


@pytest.fixture
def expired_lot(lot_product, today):
    from inventory.models import Lot

    return Lot.objects.create(product=lot_product, code="L-OLD", expires_on=today - timedelta(1))


@pytest.fixture
def plain_lot_product(db):
    """A product tracked by lot without expiry dates."""
    from inventory.models import Product

    return Product.objects.create(sku="BOLT-8", name="Bolt M8", tracking="lot")
