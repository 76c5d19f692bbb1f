"""Lots: find or create a product's lot by code, and settle which lot a receipt goes into."""

from datetime import date, datetime

from django.utils import timezone

from inventory import errors
from inventory.ledger.checks import check_expiry_date, check_lot
from inventory.models import Lot, Product


def _check_code(product: Product, code: str) -> str:
    if not product.is_lot_tracked:
        raise errors.LotNotAllowed(
            f"{product.sku} is not tracked by lot, but lot {code} was given.", field="lot"
        )
    if not code:
        raise errors.LotRequired(f"{product.sku} is tracked by lot: give the lot.", field="lot")
    max_length = Lot._meta.get_field("code").max_length
    if len(code) > max_length or not code.isprintable():
        raise errors.InvalidLotCode(
            f"“{code[:20]}…” is not a lot code for {product.sku}: use at most "
            f"{max_length} printable characters.",
            field="lot",
        )
    return code


def _conflict(product: Product, lot: Lot, expires_on: date) -> errors.LotExpiryConflict:
    return errors.LotExpiryConflict(
        f"Lot {lot.code} of {product.sku} expires on {lot.expires_on.isoformat()}, "
        f"not {expires_on.isoformat()}.",
        field="expires_on",
    )


def get_or_create_lot(
    *, product: Product, code: str, expires_on: date | None = None, received_on: date | None = None
) -> Lot:
    """Return the product's lot with ``code``, creating it; refuse a conflicting expiry.

    An existing lot without an expiry date takes the one given.
    """
    code = (code or "").strip() if isinstance(code, str) or code is None else str(code)
    _check_code(product, code)
    check_expiry_date(expires_on)
    if received_on is not None and (
        not isinstance(received_on, date) or isinstance(received_on, datetime)
    ):
        raise errors.InvalidExpiry(f"“{received_on}” is not a date.", field="received_on")
    lot = Lot.objects.filter(product=product, code=code).first()
    if lot is None:
        if product.requires_expiry and expires_on is None:
            raise errors.ExpiryRequired(
                f"{product.sku} is tracked by expiry: give the expiry date of lot {code}.",
                field="expires_on",
            )
        Lot.objects.bulk_create(
            [
                Lot(
                    product=product,
                    code=code,
                    expires_on=expires_on,
                    received_on=received_on or timezone.localdate(),
                )
            ],
            ignore_conflicts=True,
        )
        lot = Lot.objects.get(product=product, code=code)
    if expires_on is not None and lot.expires_on is not None and lot.expires_on != expires_on:
        raise _conflict(product, lot, expires_on)
    if expires_on is not None and lot.expires_on is None:
        Lot.objects.filter(pk=lot.pk, expires_on__isnull=True).update(expires_on=expires_on)
        lot.expires_on = expires_on
    return lot


def receipt_lot(
    product: Product, lot: Lot | None, lot_code, expires_on: date | None, at: datetime
) -> Lot | None:
    """Return the lot a receipt goes into: the one given, or the one named by ``lot_code``.

    Runs under the product lock: a new lot is created here, and a lot of a product
    tracked by expiry gets the expiry date given when it has none yet.
    """
    if lot is not None:
        check_lot(product, lot)
        if lot_code and str(lot_code).strip() != lot.code:
            raise errors.WrongLot(
                f"Lot {lot.code} was given for {product.sku}, but also lot code {lot_code}.",
                field="lot",
            )
        if expires_on is not None and lot.expires_on not in (None, expires_on):
            raise _conflict(product, lot, expires_on)
    if lot is None and lot_code:
        lot = get_or_create_lot(
            product=product,
            code=lot_code,
            expires_on=expires_on,
            received_on=timezone.localdate(at),
        )
    check_lot(product, lot)
    if lot is not None and product.requires_expiry and lot.expires_on is None:
        if expires_on is None:
            raise errors.ExpiryRequired(
                f"{product.sku} is tracked by expiry: lot {lot.code} has no expiry date.",
                field="expires_on",
            )
        lot = get_or_create_lot(product=product, code=lot.code, expires_on=expires_on)
    return lot
