"""The channel JSON API (``/api/v1/``): inventory for a channel, and its sales orders.

A channel authenticates with ``Authorization: Bearer <token>`` and only ever sees its
own orders. Every refusal is JSON ``{"code", "message", "field"}`` with a 4xx status.
"""

import base64
import binascii
import functools
import hashlib
import json
import re

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, re_path
from django.utils.http import parse_etags
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Query, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from inventory.errors import LedgerError
from orders.channels import availability, feed
from orders.channels import tokens as channels
from orders.channels.schemas import (
    EXTERNAL_REF_PATTERN,
    Error,
    InventoryPage,
    InventoryQuery,
    OrderIn,
    OrderLineOut,
    OrderOut,
)
from orders.models import Channel, SalesOrder
from orders.sales import services as sales
from orders.sales.errors import ChannelInactive, InvalidSalesTransition, SalesError

ERRORS = {400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 422: Error}
# The field names whose bad values get their own code instead of ``invalid_request``.
FIELD_CODES = {"quantity": "invalid_quantity", "unit_price": "invalid_price"}


class ApiError(Exception):
    """A refusal the API itself makes (not a service's)."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


class ChannelToken(HttpBearer):
    """``Authorization: Bearer <token>``: the token's channel, refused when inactive."""

    def authenticate(self, request: HttpRequest, token: str) -> Channel | None:
        channel = channels.channel_for_token(token.strip())
        if channel is not None and not channel.active:
            raise ChannelInactive(f"Channel {channel.code} is not active.")
        return channel


api = NinjaAPI(
    title="Stockroom channel API",
    version="1",
    description=(
        "Inventory and sales orders for one selling channel. Authenticate with "
        "`Authorization: Bearer <channel token>` (`manage.py channel_token CODE`). "
        'Errors are `{"code", "message", "field"}`.'
    ),
    urls_namespace="channel_api",
    auth=ChannelToken(),
)


def error_response(request, status: int, code: str, message: str, field=None) -> HttpResponse:
    response = api.create_response(
        request, {"code": code, "message": message, "field": field}, status=status
    )
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="channel API"'
    return response


def _field_path(loc) -> str | None:
    """``("body", "payload", "lines", 2, "sku")`` → ``"lines[2].sku"``."""
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form"}:
        parts = parts[1:]
        # Body and query schemas are one parameter named after the view argument.
        if parts and parts[0] in {"payload", "filters"}:
            parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or None


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    first = exc.errors[0] if exc.errors else {}
    field = _field_path(first.get("loc", ()))
    last = field.rsplit(".", 1)[-1] if field else ""
    last = re.sub(r"\[\d+\]$", "", last)
    code = FIELD_CODES.get(last, "invalid_request")
    reason = first.get("msg", "Invalid request.")
    message = f"{field}: {reason}" if field else reason
    return error_response(request, 422, code, message, field)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request, exc):
    return error_response(
        request, 401, "unauthorized", "Send a valid channel token: Authorization: Bearer <token>."
    )


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    if exc.status_code == 400:
        # The only 400 ninja raises: a body that does not parse.
        return error_response(request, 400, "invalid_json", "The request body is not valid JSON.")
    code = {404: "not_found"}.get(exc.status_code, "error")
    return error_response(request, exc.status_code, code, exc.message)


@api.exception_handler(SuspiciousOperation)
def on_suspicious_request(request, exc):
    if isinstance(exc, RequestDataTooBig):
        return error_response(request, 400, "body_too_large", "The request body is too large.")
    if isinstance(exc, TooManyFieldsSent):
        return error_response(
            request, 400, "too_many_parameters", "The request has too many query parameters."
        )
    return error_response(request, 400, "bad_request", "The request was refused.")


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return error_response(request, 404, "not_found", "Not found.")


# The service's argument names, as the request body spells them.
SERVICE_FIELDS = {
    "customer_name": "customer.name",
    "customer_email": "customer.email",
    "shipping_address": "customer.address",
}


@api.exception_handler(SalesError)
def on_sales_error(request, exc: SalesError):
    field = SERVICE_FIELDS.get(exc.field, exc.field)
    return error_response(request, exc.status, exc.code, exc.message, field)


@api.exception_handler(LedgerError)
def on_ledger_error(request, exc: LedgerError):
    # The sales service turns ledger refusals into SalesErrors; this keeps any that
    # slip through a refusal (409) instead of a server error.
    return error_response(request, 409, exc.code, exc.message, exc.field)


@api.exception_handler(ApiError)
def on_api_error(request, exc: ApiError):
    return error_response(request, exc.status, exc.code, exc.message, exc.field)


# --- inventory ---------------------------------------------------------------------

CURSOR_PREFIX = "p:"


def encode_cursor(product_id: int) -> str:
    raw = f"{CURSOR_PREFIX}{product_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The product id a cursor continues after; ``ApiError`` 400 when it is not ours."""
    invalid = ApiError(
        400, "invalid_cursor", "cursor is not a next_cursor this API gave.", "cursor"
    )
    if len(cursor) > 40 or not re.fullmatch(r"[A-Za-z0-9_-]+", cursor):
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid from None
    match = re.fullmatch(CURSOR_PREFIX + r"([1-9][0-9]{0,17})", raw)
    if not match:
        raise invalid
    return int(match.group(1))


def _inventory_rows(channel: Channel, filters: InventoryQuery, after: int | None):
    """One page of active products, by id, after the cursor (``limit + 1`` rows to see more)."""
    if filters.updated_since is None and not filters.sku:
        return availability.inventory_walk(channel, after=after, limit=filters.limit + 1)
    if filters.updated_since is None:
        return availability.inventory_page(
            channel, skus=filters.sku or [], after=after, limit=filters.limit + 1
        )
    products = availability.active_products(filters.sku and sorted(set(filters.sku)), after)
    products = products.filter(availability.changed_since_q(channel, filters.updated_since))
    return availability.channel_inventory(channel, products[: filters.limit + 1])


def _matches(request: HttpRequest, etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    if not header:
        return False
    tags = parse_etags(header)
    return "*" in tags or etag.removeprefix("W/") in {t.removeprefix("W/") for t in tags}


@api.get(
    "/inventory",
    tags=["inventory"],
    response={200: InventoryPage, 304: None, **ERRORS},
    summary="Available, on hand, committed and incoming units per SKU",
    description=(
        "Active products in a stable order (by product), one page at a time: pass "
        "`next_cursor` as `cursor` until it is null. The answer carries an `ETag`; send it "
        "back in `If-None-Match` to get `304 Not Modified` while the page is unchanged."
    ),
)
def inventory(request, filters: Query[InventoryQuery]):
    channel = request.auth
    after = decode_cursor(filters.cursor) if filters.cursor else None
    since = filters.updated_since
    rows = _inventory_rows(channel, filters, after)
    more = len(rows) > filters.limit
    next_cursor = None
    if more:
        rows = rows[: filters.limit]
        next_cursor = encode_cursor(rows[-1][0])
    # A dropship product whose other (not best) supplier reported stock matched the
    # filter generously; its updated_at says it did not change.
    items = [row[1:] for row in rows if since is None or row[-1] >= since]
    etag = feed.etag(channel, items, next_cursor)
    if _matches(request, etag):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(feed.render(items, next_cursor), content_type="application/json")
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    response["Vary"] = "Authorization"
    return response


# --- orders ----------------------------------------------------------------------------


def request_hash(payload: OrderIn) -> str:
    """SHA-256 of the validated body as canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(
        payload.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def order_out(order: SalesOrder) -> OrderOut:
    """The answer for an order, built from values that already have the schema's types
    (no validation: ninja dumps a schema instance as it is; validating the dict it was
    built from cost each new order a tenth of a millisecond)."""
    waits = order.status != SalesOrder.Status.CANCELLED  # a cancelled order waits for nothing
    # A new order carries the lines it was written with (``orders.sales.placing``).
    lines = getattr(order, "placed_lines", None)
    if lines is None:
        lines = order.lines.select_related("product").order_by("id")
    return OrderOut.model_construct(
        external_ref=order.external_ref,
        number=order.number,
        status=str(order.status),
        created_at=order.created_at,
        lines=[
            OrderLineOut.model_construct(
                sku=line.product.sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                allocated=line.quantity_allocated,
                backordered=line.quantity_backordered if waits else 0,
                shipped=line.quantity_shipped,
                dropship=line.dropship,
            )
            for line in lines
        ],
    )


def _channel_order(channel: Channel, external_ref: str) -> SalesOrder:
    order = None
    if len(external_ref) <= 100 and re.fullmatch(EXTERNAL_REF_PATTERN, external_ref):
        # Anything else cannot be a reference (and a NUL would upset PostgreSQL).
        order = SalesOrder.objects.filter(channel=channel, external_ref=external_ref).first()
    if order is None:
        raise ApiError(
            404, "not_found", f"No order {external_ref[:100]!r} on this channel.", "external_ref"
        )
    return order


@api.post(
    "/orders",
    tags=["orders"],
    response={200: OrderOut, 201: OrderOut, **ERRORS},
    summary="Place an order (idempotent on external_ref)",
    description=(
        "`201` with the new order. The same body again answers `200` with the same order; "
        "another body with a used `external_ref` is `409 duplicate_external_ref`. An unknown "
        "SKU is `422 unknown_sku` and nothing is written."
    ),
)
def create_order(request, payload: OrderIn):
    order, created = sales.create_order(
        channel=request.auth,
        external_ref=payload.external_ref,
        customer_name=payload.customer.name,
        customer_email=payload.customer.email,
        shipping_address=payload.customer.address,
        lines=[line.model_dump() for line in payload.lines],
        request_hash=request_hash(payload),
    )
    return Status(201 if created else 200, order_out(order))


@api.get(
    "/orders/{external_ref}",
    tags=["orders"],
    response={200: OrderOut, **ERRORS},
    summary="An order of this channel, by its external_ref",
)
def get_order(request, external_ref: str):
    return Status(200, order_out(_channel_order(request.auth, external_ref)))


@api.post(
    "/orders/{external_ref}/cancel",
    tags=["orders"],
    response={200: OrderOut, **ERRORS},
    summary="Cancel an order (refused with 409 once shipped)",
    description=(
        "Releases the order's reserved stock. Cancelling a cancelled order answers `200` "
        "again; an order with shipped units is `409 invalid_status`."
    ),
)
def cancel_order(request, external_ref: str):
    order = _channel_order(request.auth, external_ref)
    if order.status != SalesOrder.Status.CANCELLED:
        # Cancelling twice answers like the first time, so a retried request is safe.
        try:
            order = sales.cancel_order(order=order, reason="Cancelled through the API")
        except InvalidSalesTransition:
            # Another request cancelled it between our read and the service's lock.
            order = SalesOrder.objects.get(pk=order.pk)
            if order.status != SalesOrder.Status.CANCELLED:
                raise
    return Status(200, order_out(order))


# --- URLs: every answer under /api/v1/ is JSON -------------------------------------


def _json_method_not_allowed(view):
    """Turn ninja's plain-text 405 into our JSON error, keeping the ``Allow`` header."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = error_response(
                request,
                405,
                "method_not_allowed",
                f"{request.method[:20]} is not allowed here; use {allowed}.",
            )
            response["Allow"] = allowed
        return response

    return wrapper


@csrf_exempt
def no_such_endpoint(request, *args, **kwargs):
    return error_response(request, 404, "not_found", "There is no API endpoint at this path.")


def urls():
    """``api.urls`` with JSON 405s, and a JSON 404 for any other path under the API's prefix."""
    patterns, app_name, namespace = api.urls
    patterns = [
        URLPattern(p.pattern, _json_method_not_allowed(p.callback), p.default_args, p.name)
        if isinstance(p, URLPattern)
        else p
        for p in patterns
    ]
    patterns.append(re_path(r"^.*$", no_such_endpoint))
    return patterns, app_name, namespace
