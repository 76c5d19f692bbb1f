"""Report pages under /reports/: parse the request, ask inventory.valuation, render."""

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from common.csvfiles import SafeWriter
from common.dates import day_in_range
from common.pages import render_list
from inventory import valuation
from warehouses.models import Warehouse

PAGE_SIZE = 50
DATE_ERRORS = {"invalid": _("Enter a date as YYYY-MM-DD.")}


class ValuationReportForm(forms.Form):
    """The report's filters; every field may be left empty and has a default."""

    as_of = forms.DateField(
        label=_("Value as of"),
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages=DATE_ERRORS,
        validators=[day_in_range],
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("End of that day; default today."),
    )
    warehouse = forms.ModelChoiceField(
        label=_("Warehouse"),
        queryset=Warehouse.objects.order_by("code"),
        to_field_name="code",
        required=False,
        empty_label=_("All warehouses"),
        error_messages={"invalid_choice": _("No warehouse has that code.")},
    )
    date_from = forms.DateField(
        label=_("Sales from"),
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages=DATE_ERRORS,
        validators=[day_in_range],
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Default: the first day of the as-of month."),
    )
    date_to = forms.DateField(
        label=_("Sales to"),
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages=DATE_ERRORS,
        validators=[day_in_range],
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Default: the as-of date."),
    )
    method = forms.ChoiceField(
        label=_("CSV method"),
        required=False,
        choices=[(valuation.FIFO, "FIFO"), (valuation.AVERAGE, _("Moving average"))],
        error_messages={"invalid_choice": _("The method must be fifo or average.")},
    )

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        as_of = cleaned.get("as_of") or timezone.localdate()
        date_to = cleaned.get("date_to") or as_of
        date_from = cleaned.get("date_from") or date_to.replace(day=1)
        if date_from > date_to:
            self.add_error(
                "date_from",
                _("The sales period starts on %(start)s, after it ends (%(end)s).")
                % {"start": date_from.isoformat(), "end": date_to.isoformat()},
            )
        cleaned.update(
            as_of=as_of,
            date_from=date_from,
            date_to=date_to,
            method=cleaned.get("method") or valuation.FIFO,
        )
        return cleaned


def _csv_response(result: valuation.Valuation, method: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"valuation-{method}-{result.as_of.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    SafeWriter(response, lineterminator="\n").writerows(valuation.csv_lines(result, method))
    return response


@login_required
@permission_required("inventory.view_valuation", raise_exception=True)
def valuation_report(request):
    form = ValuationReportForm(request.GET)
    context = {"form": form, "stock": None, "cogs": None}
    if form.is_valid():
        cleaned = form.cleaned_data
        stock, cogs = valuation.report(
            as_of=cleaned["as_of"],
            date_from=cleaned["date_from"],
            date_to=cleaned["date_to"],
            warehouse=cleaned["warehouse"],
        )
        if request.GET.get("format") == "csv":
            return _csv_response(stock, cleaned["method"])
        context.update(
            stock=stock,
            cogs=cogs,
            page_obj=Paginator(stock.rows, PAGE_SIZE).get_page(request.GET.get("page")),
            cogs_page=Paginator(cogs.rows, PAGE_SIZE).get_page(request.GET.get("cogs_page")),
            warehouse=cleaned["warehouse"],
            margin_gap=abs(cogs.difference),
        )
    return render_list(request, "inventory/valuation.html", context)
