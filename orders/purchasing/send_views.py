"""Sending purchase orders: email to the supplier, mark as sent outside Stockroom, send again.

The status change commits first; the email goes out after it from a task
(``orders.purchasing.email``). The message after a send says where the email stands
then: sent (an immediate task backend), queued (a worker sends it), or failed.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from orders.models import PurchaseOrder
from orders.purchasing import services as purchasing
from orders.purchasing.forms import ReasonForm
from orders.purchasing.views import (
    SERVICE_ERRORS,
    action_page,
    add_service_error,
    get_order,
    order_lines,
    order_totals,
)

EmailStatus = PurchaseOrder.EmailStatus


def _email_message(request, order: PurchaseOrder, email: str) -> None:
    """Say where the order's email stands now that the send has committed."""
    order.refresh_from_db(fields=["email_status", "email_error", "email_attempts", "email_at"])
    values = {"number": order.number, "email": email, "error": order.email_error}
    if order.email_status == EmailStatus.SENT:
        messages.success(
            request, _("%(number)s sent to %(email)s with the PDF and CSV attached.") % values
        )
    elif order.email_status == EmailStatus.FAILED:
        messages.warning(
            request,
            _(
                "%(number)s is marked as sent, but the email to %(email)s failed: %(error)s. "
                "Check the mail settings, then use Send again, or send the PDF yourself."
            )
            % values,
        )
    else:
        messages.success(
            request,
            _(
                "%(number)s is sent: its email to %(email)s (PDF and CSV attached) is queued "
                "and goes out in a moment."
            )
            % values,
        )


def _email_confirmed(request, order, service):
    """Run ``service`` (send, send again) once the confirm form is posted; return the form
    and the redirect to the order when it went through (None otherwise)."""
    form = ReasonForm(request.POST if request.method == "POST" else None)
    form.fields.pop("reason")
    if form.is_valid():
        try:
            order = service(order=order, user=request.user)
        except SERVICE_ERRORS as err:
            add_service_error(form, err)
        else:
            _email_message(request, order, order.supplier.email)
            return form, redirect(order)
    return form, None


@login_required
@permission_required("orders.send_purchaseorder", raise_exception=True)
def purchase_order_send(request, number):
    order = get_order(number)
    form, done = _email_confirmed(request, order, purchasing.send_order)
    if done:
        return done
    lines = order_lines(order)
    mark_sent = reverse("purchase_order_mark_sent", args=[order.number])
    pdf = reverse("purchase_order_pdf", args=[order.number])
    action = {
        "title": _("Send %(number)s to %(supplier)s")
        % {"number": order.number, "supplier": order.supplier.name},
        "lead": (
            _("The order goes by email to %(email)s, with the PDF and a CSV of its lines.")
            % {"email": order.supplier.email}
            if order.supplier.email
            else _(
                "%(supplier)s has no contact email: add one on the supplier page, or send the "
                "PDF yourself and mark the order as sent."
            )
            % {"supplier": order.supplier.code}
        ),
        "links": [
            (pdf, _("Download the PDF")),
            (mark_sent, _("Sent it another way? Mark as sent")),
        ],
        "button": _("Send the order"),
        "url": request.path,
        "lines": lines,
        "totals": order_totals(lines),
    }
    return action_page(request, order, form, action)


@login_required
@permission_required("orders.send_purchaseorder", raise_exception=True)
def purchase_order_mark_sent(request, number):
    """Record that a draft went to the supplier outside Stockroom; no email is sent."""
    order = get_order(number)
    form = ReasonForm(request.POST if request.method == "POST" else None)
    form.fields["reason"].label = _("How was it sent? (optional)")
    form.fields["reason"].help_text = _("E.g. by phone, through the supplier's web portal.")
    if form.is_valid():
        try:
            order = purchasing.mark_sent(
                order=order, user=request.user, note=form.cleaned_data["reason"]
            )
        except SERVICE_ERRORS as err:
            add_service_error(form, err)
        else:
            messages.success(
                request,
                _(
                    "%(number)s marked as sent (not emailed). Send %(supplier)s the PDF "
                    "yourself if you have not yet."
                )
                % {"number": order.number, "supplier": order.supplier.name},
            )
            return redirect(order)
    lines = order_lines(order)
    action = {
        "title": _("Mark %(number)s as sent") % {"number": order.number},
        "lead": _(
            "Stockroom sends no email: use this when the order went to %(supplier)s another "
            "way, e.g. the PDF by hand. Its lines then count as incoming."
        )
        % {"supplier": order.supplier.name},
        "links": [(reverse("purchase_order_pdf", args=[order.number]), _("Download the PDF"))],
        "button": _("Mark as sent"),
        "url": request.path,
        "lines": lines,
        "totals": order_totals(lines),
    }
    return action_page(request, order, form, action)


@login_required
@permission_required("orders.send_purchaseorder", raise_exception=True)
def purchase_order_resend(request, number):
    """Queue the email of a sent order again ("Send again" on the order page posts here)."""
    order = get_order(number)
    form, done = _email_confirmed(request, order, purchasing.requeue_email)
    if done:
        return done
    action = {
        "title": _("Send %(number)s again") % {"number": order.number},
        "lead": (
            _("The order goes by email to %(email)s once more, with the PDF and the CSV.")
            % {"email": order.supplier.email}
            if order.supplier.email
            else _("%(supplier)s has no contact email: add one on the supplier page first.")
            % {"supplier": order.supplier.code}
        ),
        "button": _("Send again"),
        "url": request.path,
    }
    return action_page(request, order, form, action)
