"""The supplier's shipment of a dropship order: it ships the sales order's lines."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from orders.models import (
    PurchaseOrder,
)
from orders.purchasing.forms import TrackingForm
from orders.purchasing.views import SERVICE_ERRORS, add_service_error, get_order
from orders.sales import dropship
from orders.sales.errors import SalesError


@login_required
@permission_required("orders.ship_salesorder", raise_exception=True)
@require_http_methods(["GET", "POST"])
def purchase_order_confirm_shipment(request, number):
    """Record that the supplier shipped a dropship order to the customer (tracking number)."""
    order = get_order(number)
    waiting = order.awaits_shipment
    form = TrackingForm(request.POST if request.method == "POST" and waiting else None)
    if form.is_valid():
        try:
            order = dropship.confirm_shipment(
                purchase_order=order,
                tracking_number=form.cleaned_data["tracking_number"],
                carrier=form.cleaned_data["carrier"],
                user=request.user,
            )
        except (*SERVICE_ERRORS, SalesError) as err:
            add_service_error(form, err)
        else:
            messages.success(
                request,
                _(
                    "%(number)s shipped by %(supplier)s, tracking %(tracking)s: its sales "
                    "order lines are shipped."
                )
                % {
                    "number": order.number,
                    "supplier": order.supplier.name,
                    "tracking": order.tracking_number,
                },
            )
            return redirect(order)
    lead = _confirm_lead(order, waiting)
    return render(
        request,
        "orders/sales_order_action.html",
        {
            "order": order,
            "form": form if waiting else None,
            "action": {
                "title": _("Confirm the supplier's shipment of %(number)s")
                % {"number": order.number},
                "lead": lead,
                "button": _("Confirm shipment"),
                "url": request.path,
                "crumbs": [
                    (reverse("purchase_order_list"), _("Purchase orders")),
                    (order.get_absolute_url(), order.number),
                ],
            },
        },
    )


def _confirm_lead(order: PurchaseOrder, waiting: bool) -> str:
    """The sentence above the confirm form: what to do, or why there is nothing to do."""
    if not order.dropship:
        return _(
            "%(number)s is not a dropship order: its goods come to %(warehouse)s and are "
            "received there."
        ) % {"number": order.number, "warehouse": order.warehouse.code}
    elif order.status == PurchaseOrder.Status.DRAFT:
        return _(
            "%(number)s is a draft: send it to %(supplier)s first, then confirm the "
            "shipment it reports."
        ) % {"number": order.number, "supplier": order.supplier.name}
    elif not waiting:
        return _("%(number)s is %(status)s: there is no shipment left to confirm.") % {
            "number": order.number,
            "status": _("shipped") if order.shipped_at else order.get_status_display().lower(),
        }
    else:
        return _(
            "Enter the tracking number %(supplier)s gave for the shipment to the customer: "
            "the sales order's lines are marked shipped at the supplier's cost."
        ) % {"supplier": order.supplier.name}
