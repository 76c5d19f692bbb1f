"""Every form that asks for a product takes a SKU, a GTIN or a barcode, with suggestions."""

from django.urls import reverse

from inventory.fields import ProductField
from inventory.forms import AdjustmentForm, TransferForm
from orders.models import Supplier
from orders.purchasing.forms import LineForm, SupplierProductForm


def test_every_form_that_asks_for_a_product_uses_the_field(db):
    supplier = Supplier.objects.create(code="ACME", name="Acme")
    for form in (
        AdjustmentForm(),
        TransferForm(),
        LineForm(),
        SupplierProductForm(supplier=supplier),
    ):
        assert isinstance(form.fields["product"], ProductField), type(form).__name__
        html = str(form["product"])
        assert f'hx-get="{reverse("product_suggestions")}"' in html
        assert 'hx-trigger="input changed delay:200ms"' in html
        assert 'list="id_product-suggestions"' in html
        assert '<datalist id="id_product-suggestions"></datalist>' in html
