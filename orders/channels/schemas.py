"""Request and response shapes of the channel API.

String lengths follow the model fields, so any input either validates or gets a 422;
nothing reaches the database that a column would refuse.

The order shapes are plain pydantic models, not ninja ``Schema``: a ``Schema`` runs a
validator for reading Django objects on every nested model, which took 85 µs of an
order's request to parse its JSON body (16 µs without) and re-validated the answer
built by ``order_out``; the OpenAPI document is the same either way.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils import timezone
from ninja import Field, Schema
from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator

from common.columns import unstorable

MAX_QUANTITY = 1_000_000
MAX_LINES = 500
# What a channel's order number looks like; no "/" so it fits in a URL path segment.
EXTERNAL_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:#-]*$"


def storable(value: str) -> str:
    """Refuse text no database column can hold: NUL characters, lone surrogates."""
    problem = unstorable(value)
    if problem:
        raise ValueError(problem)
    return value


Text = Annotated[str, AfterValidator(storable)]
Sku = Annotated[Text, Field(min_length=1, max_length=64)]


class Error(Schema):
    code: str = Field(description="Machine-readable reason, e.g. `unknown_sku`.")
    message: str = Field(description="What was wrong, for people.")
    field: str | None = Field(
        None, description="The request field at fault, e.g. `lines[2].sku`, or null."
    )


# --- inventory ---------------------------------------------------------------------


class InventoryQuery(Schema):
    sku: list[Sku] | None = Field(
        None, max_length=500, description="Only these SKUs (repeat the parameter; at most 500)."
    )
    updated_since: datetime | None = Field(
        None,
        description="Only items whose quantities or product changed at or after this ISO 8601 "
        "time (a time without offset is read in the server's time zone).",
    )
    cursor: str | None = Field(None, description="`next_cursor` of the previous page.")
    limit: int = Field(100, ge=1, le=1000, description="Items per page (1–1000).")

    @field_validator("updated_since")
    @classmethod
    def in_utc(cls, value: datetime | None) -> datetime | None:
        """Read a time without offset in the server's zone; compare in UTC (any offset works)."""
        if value is None:
            return None
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        try:
            return value.astimezone(UTC)
        except OverflowError:
            # A day from the calendar's ends: all items are after the start, none after the end.
            return (
                datetime.min.replace(tzinfo=UTC)
                if value.year == 1
                else datetime.max.replace(tzinfo=UTC)
            )


class InventoryItem(Schema):
    sku: str
    available: int = Field(description="Units this channel may sell now (buffer deducted).")
    on_hand: int = Field(description="Units in the channel's warehouses.")
    committed: int = Field(description="Units of on hand promised to open orders.")
    incoming: int = Field(description="Units on open purchase orders into those warehouses.")
    updated_at: datetime


class InventoryPage(Schema):
    items: list[InventoryItem]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


# --- orders --------------------------------------------------------------------------


class CustomerIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    name: Text = Field(min_length=1, max_length=200)
    email: Text = Field("", max_length=254)
    address: Text = Field(min_length=1, max_length=2000, description="Shipping address.")

    @field_validator("email")
    @classmethod
    def email_is_valid(cls, value: str) -> str:
        if value:
            try:
                validate_email(value)
            except DjangoValidationError:
                raise ValueError("Enter a valid email address.") from None
        return value


class LineIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    sku: Sku
    quantity: int = Field(strict=True, ge=1, le=MAX_QUANTITY, description="Whole units.")
    unit_price: Decimal = Field(
        ge=0,
        max_digits=12,
        decimal_places=2,
        description="Price per unit, at most two decimals (a JSON number or a string).",
    )

    @field_validator("unit_price")
    @classmethod
    def two_places(cls, value: Decimal) -> Decimal:
        # 9.9 and 9.90 are the same price (and the same request hash); so are 0 and
        # -0.0 (adding 0 drops the sign of a negative zero).
        return value.quantize(Decimal("0.01")) + 0


class OrderIn(BaseModel):
    model_config = ConfigDict(
        str_strip_whitespace=True,
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "external_ref": "WEB-1001",
                    "customer": {
                        "name": "Ada Lovelace",
                        "email": "ada@example.com",
                        "address": "12 St James's Square, London SW1Y 4JH",
                    },
                    "lines": [{"sku": "MUG-001", "quantity": 2, "unit_price": "9.90"}],
                }
            ]
        },
    )

    external_ref: Text = Field(
        min_length=1,
        max_length=100,
        pattern=EXTERNAL_REF_PATTERN,
        description="The channel's own order reference; sending the same order again is safe.",
    )
    customer: CustomerIn
    lines: list[LineIn] = Field(min_length=1, max_length=MAX_LINES)


class OrderLineOut(BaseModel):
    sku: str
    quantity: int
    unit_price: Decimal
    allocated: int = Field(description="Units reserved in a warehouse for this line.")
    backordered: int = Field(description="Units waiting for stock.")
    shipped: int
    dropship: bool = Field(description="The supplier ships this line to the customer.")


class OrderOut(BaseModel):
    external_ref: str
    number: str
    status: str
    created_at: datetime
    lines: list[OrderLineOut]
