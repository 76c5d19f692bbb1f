"""Every date input has a sane range and answers a message, not a traceback (issue 15 item 9)."""

import io
from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from common.dates import EARLIEST_DAY, latest_day, out_of_range
from common.testing import html_of, text_of
from inventory import errors, imports, ledger
from inventory.models import Lot, StockMove

FAR = ["9999-12-31", "0001-01-01", "1999-12-31"]


def test_the_range_runs_from_2000_to_ten_years_ahead():
    today = timezone.localdate()
    assert out_of_range(EARLIEST_DAY) is None
    assert out_of_range(latest_day()) is None
    assert latest_day() - today in (timedelta(days=3652), timedelta(days=3653))
    assert "out of range" in out_of_range(latest_day() + timedelta(days=1))
    assert "2000-01-01" in out_of_range(date(1999, 12, 31))


@pytest.mark.parametrize("day", FAR)
@pytest.mark.parametrize("field", ["as_of", "date_from", "date_to"])
def test_the_valuation_page_answers_a_message(client, manager, field, day):
    client.force_login(manager)
    response = client.get(reverse("valuation_report"), {field: day})
    assert response.status_code == 200
    assert f"{day} is out of range" in text_of(response)


def test_the_valuation_csv_with_a_far_date_is_the_page_with_a_message(client, manager):
    client.force_login(manager)
    response = client.get(reverse("valuation_report"), {"as_of": "9999-12-31", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("day", FAR)
def test_the_valuation_command_says_so_in_one_line(db, day):
    with pytest.raises(CommandError, match=rf"--as-of {day} is out of range"):
        call_command("valuation", "--as-of", day, stdout=io.StringIO())


def test_the_ledger_refuses_a_lot_expiring_past_the_range(lot_product, locations):
    with pytest.raises(errors.InvalidExpiry, match="out of range"):
        ledger.receive(
            product=lot_product,
            location=locations["bin1"],
            quantity=1,
            unit_cost=1,
            lot_code="FAR",
            expires_on=date(9999, 12, 31),
        )
    assert not Lot.objects.exists() and not StockMove.objects.exists()


def test_the_stock_import_reports_the_row(db, product, lot_product, locations):
    with pytest.raises(imports.ImportRefused) as info:
        imports.import_stock(
            "sku,location,lot,expires_on,quantity,unit_cost\n"
            f"{lot_product.sku},WH1-A-01,L1,9999-12-31,1,1\n"
        )
    assert "line 2" in str(info.value.errors[0])
    assert "9999-12-31 is out of range" in str(info.value.errors[0])
    assert not StockMove.objects.exists()


@pytest.mark.parametrize("url_name", ["stock_list", "sales_order_list"])
def test_list_filters_with_far_dates_answer_a_page(client, manager, url_name):
    client.force_login(manager)
    field = "expires_before" if url_name == "stock_list" else "created_to"
    response = client.get(reverse(url_name), {field: "9999-12-31"})
    assert response.status_code == 200
    assert "out of range" in html_of(response)


def test_model_validation_refuses_a_far_lot_expiry(lot_product):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as info:
        Lot(product=lot_product, code="FAR", expires_on=date(9999, 12, 31)).full_clean()
    assert "out of range" in " ".join(info.value.message_dict["expires_on"])
