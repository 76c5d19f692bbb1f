"""What every report page does: check a permission, filter, paginate, or stream the CSV."""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.contrib.auth.decorators import login_required, permission_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import DecimalField, QuerySet
from django.utils import timezone

from common.csvfiles import streaming_csv
from common.pages import PAGE_SIZE, filtered_rows, render_list
from inventory import selectors

MONEY = DecimalField(max_digits=24, decimal_places=6)
TEMPLATE = "planning/reports/report.html"
# Buyers see units; costs, values and margins need the manager's valuation permission.
BUYERS = "planning.view_planline"
MANAGERS = "inventory.view_valuation"


def money(value) -> Decimal | None:
    """Round a money amount to cents for the page and the CSV."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def one_decimal(value) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Column:
    """One column: its header, how to read it from a row, and an optional link."""

    header: str
    value: Callable[[dict], object]
    link: Callable[[dict], str | None] | None = None
    number: bool = False


@dataclass(frozen=True)
class Report:
    """A report: its name, rule, filters, rows and columns (see the package docstring)."""

    slug: str
    title: str
    permission: str
    filterset: type
    rows: Callable[[object], QuerySet]
    columns: list[Column]
    rule: Callable[[dict], str]
    # The totals line; a report that counts its rows in the same query returns
    # ``(count, totals)`` so the pager does not count them again.
    totals: Callable[[QuerySet, dict], list | tuple[int, list]] | None = None
    actions: Callable[[dict], list[tuple[str, str]]] = field(default=lambda params: [])
    # Rows built in Python from a few grouped queries (a list, small: one per supplier);
    # the filters are all parameters then, applied by ``rows`` itself.
    python_rows: bool = False
    # Turns the filtered rows into what the columns read (e.g. ``values()`` with joined
    # names); counting and totals use the rows before it, without those joins.
    shape: Callable[[QuerySet, dict], QuerySet] | None = None
    # Python rows: fills in what the columns need (e.g. SKUs) for the rows shown only.
    enrich: Callable[[list[dict]], None] | None = None

    def params(self, filterset) -> dict:
        """The filter values in force: the form's when valid, else the defaults."""
        form = filterset.form
        defaults = {name: f.initial for name, f in form.fields.items()}
        if filterset.is_bound and form.is_valid():
            given = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
            return {**defaults, **given}
        return defaults

    def cells(self, row: dict) -> list[object]:
        return [column.value(row) for column in self.columns]


def report_view(report: Report):
    """The page (or ``?format=csv``) of ``report``."""

    @login_required
    @permission_required(report.permission, raise_exception=True)
    def view(request):
        query = request.GET.copy()
        wants_csv = query.pop("format", [""])[-1] == "csv"
        query.pop("page", None)
        filterset = report.filterset(query or None)
        params = report.params(filterset)
        # The parameters (days, thresholds) shape the rows; the field filters then narrow them.
        if report.python_rows:
            valid = not filterset.is_bound or filterset.is_valid()
            plain = rows = report.rows(params) if valid else []
        else:
            filterset.queryset = report.rows(params)
            plain = filtered_rows(filterset)
            rows = report.shape(plain, params) if report.shape else plain
        if wants_csv:
            header = [column.header for column in report.columns]
            each = iter(rows) if report.python_rows else rows.iterator(chunk_size=2000)
            lines = (report.cells(row) for row in enriched(report, each))
            return streaming_csv(f"{report.slug}.csv", header, lines)
        totals = report.totals(plain, params) if report.totals else []
        count, totals = totals if isinstance(totals, tuple) else (None, totals)
        page_obj = page_of(report, plain, rows, params, request.GET.get("page"), count)
        if report.enrich:
            report.enrich(list(page_obj.object_list))
        table = [
            [
                (column.value(row), column.link(row) if column.link else None, column.number)
                for column in report.columns
            ]
            for row in page_obj
        ]
        context = {
            "report": report,
            "rule": report.rule(params),
            "filter": filterset,
            "page_obj": page_obj,
            "table": table,
            "totals": totals,
            "actions": report.actions(params),
            "csv_query": _csv_query(query),
        }
        return render_list(request, TEMPLATE, context)

    view.__name__ = report.slug
    return view


class ShapedPaginator(Paginator):
    """Counts the plain rows (no joins) and fetches a page keys-first: the page's ids from
    the plain rows in their order, then the shaped rows (joins, subqueries) for those ids."""

    def __init__(self, plain, shape, params, per_page):
        super().__init__(plain, per_page)
        self.shape = shape
        self.params = params

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        keys = list(self.object_list.values_list("pk", flat=True)[bottom : bottom + self.per_page])
        rows = {
            row["id"]: row
            for row in self.shape(self.object_list.order_by().filter(pk__in=keys), self.params)
        }
        return self._get_page([rows[key] for key in keys if key in rows], number, self)


COUNT_SECONDS = 60


def count_until_next_move(rows: QuerySet, name: str, params: dict) -> int:
    """``rows.count()`` of on-hand stock, kept (Django's cache) under the ledger's last move,
    the day and the filter ``params``: exact until the next move or day; the minute's limit
    bounds what no move announces (an expiry date edited; a late PostgreSQL commit)."""
    filters = "&".join(
        f"{key}={getattr(params[key], 'pk', params[key])}" for key in sorted(params)
    )
    day = timezone.localdate().isoformat()
    key = f"report-count:{name}:{day}:{selectors.ledger_version()}:{filters}"
    count = cache.get(key)
    if count is None:
        count = rows.count()
        cache.set(key, count, COUNT_SECONDS)
    return count


def page_of(report: Report, plain, rows, params, number, count: int | None = None):
    if report.python_rows or report.shape is None:
        paginator = Paginator(rows, PAGE_SIZE)
    else:
        paginator = ShapedPaginator(plain, report.shape, params, PAGE_SIZE)
    if count is not None:
        paginator.count = count  # counted with the totals
    return paginator.get_page(number)


def enriched(report: Report, rows, size: int = 2000):
    """``rows`` again, enriched ``size`` at a time when the report asks for it."""
    if report.enrich is None:
        yield from rows
        return
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            report.enrich(chunk)
            yield from chunk
            chunk = []
    report.enrich(chunk)
    yield from chunk


def keep(queryset, name, value):
    """A filter method for report parameters: the rows already use the value (``rows``)."""
    return queryset


def _csv_query(query) -> str:
    csv = query.copy()
    csv["format"] = "csv"
    return csv.urlencode()
