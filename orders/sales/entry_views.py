"""The page that enters a sales order by hand (a phone or counter order).

It goes through ``orders.sales.create_order``, the service the channel API uses, so
the order is checked, allocated and dropshipped the same way. Its external reference
is ``MANUAL-`` followed by 12 hex characters drawn when the page opens and carried in
the form: submitting the same page twice finds the order the first submit entered
(the service's idempotency by external reference and request body) instead of
entering it again. A refusal of the service shows on the form, next to the field it
names, with everything typed kept.
"""

import re
import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from inventory.errors import LedgerError
from orders.sales import services as sales
from orders.sales.errors import SalesError
from orders.sales.forms import MANUAL_REFERENCE_LENGTH, SalesLineFormSet, SalesOrderForm
from orders.sales.selectors import allocation_summary

MANUAL_PREFIX = "MANUAL-"
REFERENCE = re.compile(rf"[0-9A-F]{{{MANUAL_REFERENCE_LENGTH}}}")
LINE_FIELD = re.compile(r"lines\[(\d+)\](?:\.(\w+))?")
# The service's names for the line fields, as the line form calls them.
LINE_FIELDS = {"sku": "product", "quantity": "quantity", "unit_price": "unit_price"}
ORDER_FIELDS = {"channel", "customer_name", "customer_email", "shipping_address"}


def new_reference() -> str:
    return uuid.uuid4().hex[:MANUAL_REFERENCE_LENGTH].upper()


def _fresh_reference(data):
    """The posted data with a new reference (the old one is missing or already used)."""
    data = data.copy()
    data["reference"] = new_reference()
    return data


def _line_specs(lines) -> list[tuple[object, dict]]:
    """The filled-in rows with what the service gets for each."""
    rows = []
    for form in lines.forms:
        product = form.cleaned_data.get("product")
        if product is None:
            continue
        spec = {
            "sku": product.sku,
            "quantity": form.cleaned_data["quantity"],
            "unit_price": form.cleaned_data["unit_price"],
        }
        rows.append((form, spec))
    return rows


def _show_refusal(err, form, rows) -> None:
    """Put the service's message next to the field it names (``lines[2].sku`` → row 3)."""
    match = LINE_FIELD.fullmatch(err.field or "")
    if match and int(match.group(1)) < len(rows):
        row = rows[int(match.group(1))][0]
        row.add_error(LINE_FIELDS.get(match.group(2)), err.message)
    elif err.field in ORDER_FIELDS:
        form.add_error(err.field, err.message)
    else:
        form.add_error(None, err.message)


@login_required
@permission_required("orders.add_salesorder", raise_exception=True)
@require_http_methods(["GET", "POST"])
def sales_order_create(request):
    data = request.POST if request.method == "POST" else None
    stale_reference = data is not None and not REFERENCE.fullmatch(data.get("reference", ""))
    if stale_reference:
        data = _fresh_reference(data)
    form = SalesOrderForm(data, initial={"reference": new_reference()})
    lines = SalesLineFormSet(data, prefix="line")
    if stale_reference:
        form.add_error(None, _("This page was out of date: check the order and submit it again."))
    elif data is not None and all([form.is_valid(), lines.is_valid()]):
        rows = _line_specs(lines)
        fields = form.cleaned_data
        try:
            order, created = sales.create_order(
                channel=fields["channel"],
                external_ref=MANUAL_PREFIX + fields["reference"],
                customer_name=fields["customer_name"],
                customer_email=fields["customer_email"],
                shipping_address=fields["shipping_address"],
                lines=[spec for _, spec in rows],
                user=request.user,
            )
        except (SalesError, LedgerError) as err:
            _show_refusal(err, form, rows)
            if err.field == "external_ref":
                # Used by another order: the next submit gets a reference of its own.
                form = SalesOrderForm(_fresh_reference(data))
                form.is_valid()
                form.add_error(None, err.message)
        else:
            if not created:
                messages.info(
                    request,
                    _("This order was already entered as %(number)s; nothing new was written.")
                    % {"number": order.number},
                )
                return redirect(order)
            summary = allocation_summary(order, verb=_("entered and"))
            (messages.warning if summary.backordered else messages.success)(request, summary.text)
            return redirect(order)
    return render(
        request,
        "orders/sales_order_form.html",
        {"form": form, "lines": lines, "manual_prefix": MANUAL_PREFIX},
    )
