"""Admin: lists without per-row queries, read-only ledger rows, adjustments through the ledger."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.admin import helpers
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory import ledger
from inventory.models import (
    CostLayer,
    Product,
    ProductBarcode,
    ReservationEntry,
    StockLevel,
    StockMove,
)
from warehouses.models import Location

CHANGELISTS = [
    "inventory_product",
    "inventory_productbarcode",
    "inventory_lot",
    "inventory_stocklevel",
    "inventory_stockmove",
    "inventory_reservationentry",
    "inventory_costlayer",
    "warehouses_warehouse",
    "warehouses_location",
]
READ_ONLY = {
    "inventory_stocklevel": StockLevel,
    "inventory_stockmove": StockMove,
    "inventory_reservationentry": ReservationEntry,
    "inventory_costlayer": CostLayer,
}


@pytest.fixture
def superuser(db, django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-for-tests")


def _post_activity(locations, *, products: int, prefix: str):
    """Receive, move, reserve and ship a few products, all through the ledger."""
    for n in range(products):
        product = Product.objects.create(sku=f"{prefix}{n}", name=f"Thing {n}")
        ProductBarcode.objects.create(product=product, code=f"CASE-{prefix}{n}", units=6)
        ledger.receive(product=product, location=locations["receiving"], quantity=10, unit_cost=2)
        ledger.transfer(
            product=product,
            from_location=locations["receiving"],
            to_location=locations["bin1"],
            quantity=4,
        )
        ledger.reserve(product=product, location=locations["bin1"], quantity=1)
        ledger.ship(product=product, location=locations["receiving"], quantity=1)
        lot_product = Product.objects.create(
            sku=f"{prefix}L{n}", name=f"Tea {n}", tracking="lot_expiry"
        )
        ledger.receive(
            product=lot_product,
            location=locations["bin2"],
            quantity=5,
            unit_cost=1,
            lot_code=f"LOT{n}",
            expires_on=date(2031, 1, n + 1),
        )


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


# The session, the user, then the changelist's own queries (filters' choices, the page).
EXPECTED_QUERIES = {
    "inventory_product": 4,
    "inventory_productbarcode": 5,
    "inventory_lot": 6,
    "inventory_stocklevel": 5,
    "inventory_stockmove": 6,
    "inventory_reservationentry": 5,
    "inventory_costlayer": 4,
    "warehouses_warehouse": 5,
    "warehouses_location": 5,
}


@pytest.mark.django_db
def test_every_changelist_renders_with_a_fixed_number_of_queries(client, superuser, locations):
    client.force_login(superuser)
    _post_activity(locations, products=2, prefix="A")
    few = {
        name: _count_queries(client, reverse(f"admin:{name}_changelist")) for name in CHANGELISTS
    }
    _post_activity(locations, products=8, prefix="B")
    many = {
        name: _count_queries(client, reverse(f"admin:{name}_changelist")) for name in CHANGELISTS
    }
    assert few == many, "a changelist's query count grows with its rows"
    assert many == EXPECTED_QUERIES


@pytest.mark.django_db
def test_changelists_find_by_search(client, superuser, locations):
    client.force_login(superuser)
    _post_activity(locations, products=2, prefix="A")
    response = client.get(reverse("admin:inventory_stocklevel_changelist"), {"q": "AL1"})
    assert response.status_code == 200
    assert "LOT1" in response.text
    assert "A0 ·" not in response.text
    response = client.get(reverse("admin:inventory_product_changelist"), {"q": "CASE-A1"})
    assert "Thing 1" in response.text
    assert "Thing 0" not in response.text


@pytest.mark.django_db
def test_ledger_rows_cannot_be_added_changed_or_deleted_even_by_a_superuser(
    client, superuser, locations, product
):
    ledger.receive(product=product, location=locations["bin1"], quantity=3, unit_cost=1)
    ledger.reserve(product=product, location=locations["bin1"], quantity=1)
    client.force_login(superuser)
    for name, model in READ_ONLY.items():
        row = model.objects.first()
        assert client.get(reverse(f"admin:{name}_add")).status_code == 403
        assert client.get(reverse(f"admin:{name}_delete", args=[row.pk])).status_code == 403
        # The change page is a view-only page; posting to it changes nothing.
        view = client.get(reverse(f"admin:{name}_change", args=[row.pk]))
        assert view.status_code == 200
        assert 'name="_save"' not in view.text
        response = client.post(reverse(f"admin:{name}_change", args=[row.pk]), {"quantity": 99})
        assert response.status_code == 403
        response = client.post(
            reverse(f"admin:{name}_changelist"),
            {"action": "delete_selected", helpers.ACTION_CHECKBOX_NAME: [row.pk], "post": "yes"},
        )
        assert model.objects.filter(pk=row.pk).exists()
    level = StockLevel.objects.get()
    assert (level.on_hand, level.committed) == (3, 1)


def _adjust(client, levels, **fields):
    data = {
        "action": "adjust_stock",
        helpers.ACTION_CHECKBOX_NAME: [level.pk for level in levels],
        **fields,
    }
    return client.post(reverse("admin:inventory_stocklevel_changelist"), data, follow=True)


@pytest.mark.django_db
def test_adjust_action_asks_then_posts_through_the_ledger(client, manager, locations, product):
    ledger.receive(product=product, location=locations["bin1"], quantity=10, unit_cost=2)
    ledger.receive(product=product, location=locations["bin2"], quantity=4, unit_cost=3)
    ledger.reserve(product=product, location=locations["bin2"], quantity=2)
    bin1 = StockLevel.objects.get(location=locations["bin1"])
    bin2 = StockLevel.objects.get(location=locations["bin2"])
    client.force_login(manager)

    form = _adjust(client, [bin1, bin2])
    assert form.status_code == 200
    assert "Post adjustments" in form.text
    assert not StockMove.objects.filter(kind="adjustment").exists()

    invalid = _adjust(client, [bin1], apply="1", quantity="0", reason="")
    assert "other than zero" in invalid.text
    assert "This field is required" in invalid.text
    assert not StockMove.objects.filter(kind="adjustment").exists()

    done = _adjust(client, [bin1, bin2], apply="1", quantity="-3", reason="Broken in transit")
    assert done.status_code == 200
    messages = [str(m) for m in done.context["messages"]]
    assert "MUG-001 in WH1-A-02: 2 of the 4 units of MUG-001 in WH1-A-02 are committed" in (
        " ".join(messages)
    ), messages
    assert "Posted 1 adjustment(s) of -3." in messages
    bin1.refresh_from_db()
    bin2.refresh_from_db()
    assert (bin1.on_hand, bin2.on_hand, bin2.committed) == (7, 4, 2)
    move = StockMove.objects.get(kind="adjustment")
    assert (move.from_location, move.quantity, move.reason, move.user) == (
        locations["bin1"],
        3,
        "Broken in transit",
        manager,
    )
    assert move.unit_cost == Decimal("2")

    _adjust(client, [bin2], apply="1", quantity="4", reason="Found", unit_cost="5.5")
    bin2.refresh_from_db()
    assert bin2.on_hand == 8
    assert CostLayer.objects.filter(unit_cost=Decimal("5.5"), remaining=4).exists()


@pytest.mark.django_db
def test_adjust_action_needs_the_adjust_permission(client, django_user_model, locations, product):
    ledger.receive(product=product, location=locations["bin1"], quantity=10, unit_cost=2)
    level = StockLevel.objects.get()
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_stocklevel", content_type__app_label="inventory")
    )
    client.force_login(viewer)
    page = client.get(reverse("admin:inventory_stocklevel_changelist"))
    assert page.status_code == 200
    assert "Adjust stock" not in page.text
    _adjust(client, [level], apply="1", quantity="-3", reason="Sneaky")
    level.refresh_from_db()
    assert level.on_hand == 10
    assert not StockMove.objects.filter(kind="adjustment").exists()


def _csv_format_index(client) -> str:
    from inventory.admin import ProductAdmin

    formats = ProductAdmin(Product, None).get_import_formats()
    return str(next(i for i, f in enumerate(formats) if f().get_title() == "csv"))


def _import(client, text: str):
    upload = SimpleUploadedFile("products.csv", text.encode(), content_type="text/csv")
    return client.post(
        reverse("admin:inventory_product_import"),
        {"import_file": upload, "format": _csv_format_index(client)},
    )


@pytest.mark.django_db
def test_admin_product_import_refuses_the_rows_the_command_refuses(client, superuser, product):
    client.force_login(superuser)
    response = _import(
        client,
        "sku,name,gtin,sell_price\n"
        "NEW-1,Fine,,1.00\n"
        "NEW-2,Bad GTIN,4006381333932,1.00\n"
        "NEW-3,Taken GTIN,4006381333931,1.00\n",
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "line 3: “4006381333932” is not a valid GTIN" in text
    assert "line 4: GTIN 04006381333931 already belongs to product MUG-001" in text
    assert response.context.get("confirm_form") is None
    assert set(Product.objects.values_list("sku", flat=True)) == {"MUG-001"}


@pytest.mark.django_db
def test_admin_product_import_normalises_gtin_and_updates_by_sku(client, superuser, product):
    client.force_login(superuser)
    response = _import(
        client,
        "SKU,Name,GTIN,sell_price,tracking,fulfilment\n"
        "NEW-1,Fresh cup,96385074,1.50,,\n"
        "MUG-001,Enamel mug XL,,11.00,,\n",
    )
    assert response.status_code == 200
    confirm = response.context["confirm_form"]
    response = client.post(
        reverse("admin:inventory_product_process_import"), confirm.initial, follow=True
    )
    assert response.status_code == 200
    new = Product.objects.get(sku="NEW-1")
    assert (new.gtin, new.sell_price, new.tracking) == ("00000096385074", Decimal("1.50"), "none")
    product.refresh_from_db()
    assert (product.name, product.sell_price, product.gtin) == (
        "Enamel mug XL",
        Decimal("11.00"),
        "04006381333931",
    )


@pytest.mark.django_db
def test_product_import_needs_the_import_permission(client, django_user_model):
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_product"]))
    client.force_login(user)
    assert client.get(reverse("admin:inventory_product_import")).status_code == 403


@pytest.mark.django_db
def test_location_admin_keeps_history(client, superuser, warehouse):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:warehouses_location_add"),
        {
            "warehouse": warehouse.pk,
            "code": "Z",
            "barcode": "WH1-Z",
            "kind": "storage",
            "name": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    location = Location.objects.get(barcode="WH1-Z")
    assert location.path == "WH1/Z"
    assert location.history.count() == 1
    history = client.get(reverse("admin:warehouses_location_history", args=[location.pk]))
    assert history.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_admin_product_import_names_missing_columns(client, superuser, product, settings, debug):
    settings.DEBUG = debug
    client.force_login(superuser)
    response = _import(client, "title,price\nNew cup,1.00\n")
    assert response.status_code == 200
    assert response.context["form"].errors["import_file"] == [
        "Required column(s) missing: sku, name (the header has: title, price). "
        "Nothing was imported."
    ]
    assert response.context.get("confirm_form") is None
    assert set(Product.objects.values_list("sku", flat=True)) == {"MUG-001"}


@pytest.mark.django_db
def test_admin_product_import_refuses_more_rows_than_the_limit(
    client, superuser, product, settings
):
    settings.STOCKROOM_ADMIN_IMPORT_MAX_ROWS = 3
    client.force_login(superuser)
    rows = "".join(f"NEW-{i},Cup {i}\n" for i in range(4))
    response = _import(client, "sku,name\n" + rows)
    assert response.status_code == 200
    (error,) = response.context["form"].errors["import_file"]
    assert error.startswith("The file has 4 rows; the admin takes at most 3: ")
    assert "manage.py import_products FILE" in error
    assert response.context.get("confirm_form") is None
    assert set(Product.objects.values_list("sku", flat=True)) == {"MUG-001"}
    # At the limit the file goes on to the confirmation step.
    response = _import(client, "sku,name\n" + rows.split("\n", 1)[1])
    assert response.context["confirm_form"] is not None


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_admin_product_import_refuses_a_file_over_the_size_limit(
    client, superuser, product, settings, debug
):
    settings.DEBUG = debug
    settings.STOCKROOM_ADMIN_IMPORT_MAX_BYTES = 1_000
    client.force_login(superuser)
    text = "sku,name\n" + "".join(f"NEW-{i},A cup with a long name {i}\n" for i in range(60))
    response = _import(client, text)
    assert response.status_code == 200
    (error,) = response.context["form"].errors["import_file"]
    assert error.startswith(
        f"The file is {len(text):,} bytes; the admin takes at most 1,000 bytes"
    )
    assert "manage.py import_products FILE" in error
    assert set(Product.objects.values_list("sku", flat=True)) == {"MUG-001"}


@pytest.mark.django_db
def test_admin_product_import_default_limit_fits_a_web_request(client, superuser, product):
    """At about 4 ms a row per step, more than 5,000 rows would pass gunicorn's timeout."""
    client.force_login(superuser)
    text = "sku,name\n" + "".join(f"N{i},C\n" for i in range(5_001))
    response = _import(client, text)
    (error,) = response.context["form"].errors["import_file"]
    assert error.startswith("The file has 5,001 rows; the admin takes at most 5,000: ")
    assert set(Product.objects.values_list("sku", flat=True)) == {"MUG-001"}
