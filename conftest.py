"""Fixtures shared by every test module: roles, users, a small warehouse and products."""

import os
from decimal import Decimal

import pytest

# Playwright runs an event loop in the test thread; live_server tests still use the ORM.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _forget_gathering_webhook_tasks():
    """A process remembers for a moment that a channel's webhook task is queued; a test's
    database is rolled back or flushed after it, so no test inherits that memory."""
    from orders.channels import webhooks

    webhooks.GATHERING.clear()
    yield
    webhooks.GATHERING.clear()


def _user_with_role(django_user_model, username: str, role: str | None, **extra):
    from django.apps import apps
    from django.contrib.auth.models import Group

    from inventory.roles import sync_roles

    if role and not Group.objects.filter(name=role).exists():
        # Transactional tests flush the tables, and with them the groups the data
        # migration made; make them again the way the migration does.
        sync_roles(apps)
    user = django_user_model.objects.create_user(
        username=username, password="pass-for-tests-only", **extra
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def clerk(db, django_user_model):
    return _user_with_role(django_user_model, "clerk1", "clerk")


@pytest.fixture
def buyer(db, django_user_model):
    return _user_with_role(django_user_model, "buyer1", "buyer")


@pytest.fixture
def manager(db, django_user_model):
    return _user_with_role(django_user_model, "manager1", "manager", is_staff=True)


@pytest.fixture
def warehouse(db):
    from warehouses.models import Warehouse

    return Warehouse.objects.create(code="WH1", name="Main warehouse")


@pytest.fixture
def locations(warehouse):
    """A zone with two bins, a receiving dock, a shipping dock and a quarantine cage."""
    from warehouses.models import Location

    zone = Location.objects.create(warehouse=warehouse, code="A", barcode="WH1-A")
    return {
        "zone": zone,
        "bin1": Location.objects.create(
            warehouse=warehouse, parent=zone, code="01", barcode="WH1-A-01"
        ),
        "bin2": Location.objects.create(
            warehouse=warehouse, parent=zone, code="02", barcode="WH1-A-02"
        ),
        "receiving": Location.objects.create(
            warehouse=warehouse, code="RCV", barcode="WH1-RCV", kind=Location.Kind.RECEIVING
        ),
        "shipping": Location.objects.create(
            warehouse=warehouse, code="SHP", barcode="WH1-SHP", kind=Location.Kind.SHIPPING
        ),
        "quarantine": Location.objects.create(
            warehouse=warehouse, code="QUA", barcode="WH1-QUA", kind=Location.Kind.QUARANTINE
        ),
    }


@pytest.fixture
def product(db):
    from inventory.models import Product

    return Product.objects.create(
        sku="MUG-001", name="Enamel mug", gtin="4006381333931", sell_price=Decimal("9.90")
    )


@pytest.fixture
def lot_product(db):
    from inventory.models import Product

    return Product.objects.create(
        sku="TEA-100", name="Green tea 100 g", tracking="lot_expiry", sell_price=Decimal("4.50")
    )


@pytest.fixture
def dropship_product(db):
    from inventory.models import Product

    return Product.objects.create(sku="SOFA-9", name="Sofa", fulfilment="dropship")


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``postgres`` when the suite runs on SQLite."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (run through scripts/with_postgres.sh)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
