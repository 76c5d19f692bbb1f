"""Fixtures for the ledger tests: lots, a snapshot of every ledger table, refusal checks."""

import contextlib
from datetime import date, timedelta

import pytest
from django.utils import timezone

LEDGER_TABLES = ("StockLevel", "StockMove", "ReservationEntry", "CostLayer", "Lot")


def ledger_snapshot() -> dict[str, list[tuple]]:
    """Return every row of the ledger tables as plain tuples, ordered by primary key."""
    from django.apps import apps

    snapshot = {}
    for name in LEDGER_TABLES:
        model = apps.get_model("inventory", name)
        fields = [field.attname for field in model._meta.concrete_fields]
        snapshot[name] = list(model.objects.order_by("pk").values_list(*fields))
    return snapshot


@contextlib.contextmanager
def refused(error_class, code: str, *fragments: str):
    """Expect ``error_class`` with ``code``, a message naming ``fragments``, and no change."""
    before = ledger_snapshot()
    with pytest.raises(error_class) as caught:
        yield caught
    error = caught.value
    assert type(error) is error_class, f"{type(error).__name__}: {error}"
    assert error.code == code
    assert error.message == str(error)
    for fragment in fragments:
        assert fragment in error.message, f"{fragment!r} not in {error.message!r}"
    assert ledger_snapshot() == before, "a refused operation changed the ledger"


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
