"""Rules for creating and changing products in the back office."""

from django.db import transaction

from inventory.models import Product, StockLevel

# Path segments the product pages use themselves; a product with such a SKU could not be opened.
RESERVED_SKUS = {"new"}


def has_stock(product: Product) -> bool:
    return (
        product.pk is not None
        and StockLevel.objects.filter(product=product, on_hand__gt=0).exists()
    )


def change_problems(product: Product, *, tracking: str, fulfilment: str) -> dict[str, str]:
    """Return what refuses a product's new tracking or fulfilment, by field (empty: none)."""
    if product.pk is None or not has_stock(product):
        return {}
    problems = {}
    if tracking != product.tracking:
        problems["tracking"] = (
            f"{product.sku} has stock: its tracking cannot change from "
            f"{product.get_tracking_display()} (move the stock out first)."
        )
    if fulfilment == Product.Fulfilment.DROPSHIP and product.is_stocked:
        problems["fulfilment"] = f"{product.sku} has stock: it cannot become a dropship product."
    return problems


def save_product(*, form, barcodes) -> Product:
    """Save the product form and its barcode formset together (history kept by the model)."""
    with transaction.atomic():
        product = form.save()
        barcodes.instance = product
        barcodes.save()
    return product
