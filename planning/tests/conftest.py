"""A small catalogue with two suppliers and two warehouses, and a finished plan over it."""

from decimal import Decimal

import pytest
from django.core.cache import cache

from inventory.models import Product
from orders.models import Supplier, SupplierProduct
from planning.tests.factories import plan_line, plan_run
from warehouses.models import Warehouse


@pytest.fixture
def wh2(db):
    return Warehouse.objects.create(code="WH2", name="Second warehouse")


@pytest.fixture
def suppliers(db):
    return {
        "ACME": Supplier.objects.create(
            code="ACME", name="Acme Ltd", email="po@acme.example", default_lead_time_days=7
        ),
        "BOLT": Supplier.objects.create(
            code="BOLT", name="Bolt & Co", email="po@bolt.example", default_lead_time_days=14
        ),
    }


@pytest.fixture
def catalogue(suppliers):
    """Three products from ACME (one in packs of 6), one from BOLT, one with no supplier."""
    products = {
        sku: Product.objects.create(sku=sku, name=name, sell_price=Decimal("9.90"))
        for sku, name in [
            ("MUG-1", "Mug"),
            ("CUP-1", "Cup"),
            ("JAR-1", "Jar"),
            ("PAN-1", "Pan"),
            ("LID-1", "Lid"),
        ]
    }
    offers = {
        "MUG-1": SupplierProduct.objects.create(
            supplier=suppliers["ACME"],
            product=products["MUG-1"],
            unit_cost="2.50",
            preferred=True,
        ),
        "CUP-1": SupplierProduct.objects.create(
            supplier=suppliers["ACME"],
            product=products["CUP-1"],
            unit_cost="1.20",
            pack_size=6,
            preferred=True,
        ),
        "JAR-1": SupplierProduct.objects.create(
            supplier=suppliers["ACME"],
            product=products["JAR-1"],
            unit_cost="3.00",
            lead_time_days=10,
            preferred=True,
        ),
        "PAN-1": SupplierProduct.objects.create(
            supplier=suppliers["BOLT"],
            product=products["PAN-1"],
            unit_cost="15.00",
            preferred=True,
        ),
    }
    return {"products": products, "offers": offers}


@pytest.fixture
def plan(catalogue, warehouse, wh2):
    """A finished plan: ACME lines in WH1 and WH2, one BOLT line, one line without supplier,
    and one line with nothing to order."""
    run = plan_run()
    p, o = catalogue["products"], catalogue["offers"]
    lines = {
        "mug": plan_line(run, p["MUG-1"], warehouse, o["MUG-1"], suggested_qty=10),
        "cup": plan_line(run, p["CUP-1"], warehouse, o["CUP-1"], suggested_qty=12),
        "jar2": plan_line(
            run,
            p["JAR-1"],
            wh2,
            o["JAR-1"],
            suggested_qty=5,
            policy="min_max",
            reorder_point=3,
            order_up_to=8,
        ),
        "pan": plan_line(run, p["PAN-1"], warehouse, o["PAN-1"], suggested_qty=2, policy="jit"),
        "lid": plan_line(run, p["LID-1"], warehouse, None, suggested_qty=4),
        "jar": plan_line(run, p["JAR-1"], warehouse, o["JAR-1"], suggested_qty=0),
    }
    return {"run": run, "lines": lines}


@pytest.fixture(autouse=True)
def fresh_cache():
    """Answers cached per plan run (advisor summary, ABC × XYZ) never leak between tests."""
    cache.clear()
    yield
    cache.clear()
