"""django-import-export resources: product import/export in the admin with the CSV rules."""

from django.core.exceptions import ValidationError
from import_export import resources

from common.csvfiles import safe_cell
from inventory import imports
from inventory.models import Product


class ProductResource(resources.ModelResource):
    """Products by SKU; every row goes through ``imports.validate_product_rows`` first.

    The whole dataset is checked in ``before_import`` exactly as the
    ``import_products`` command checks a file, so the admin refuses the same rows
    with the same messages and stores GTINs in their 14-digit form.
    """

    class Meta:
        model = Product
        fields = ("sku", "name", "gtin", "sell_price", "tracking", "fulfilment")
        export_order = fields
        import_id_fields = ("sku",)
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Filled by before_import; empty if it refused the file, so no row is imported.
        self._row_errors: dict[int, list[str]] = {}
        self._row_values: dict[int, dict] = {}

    def export_resource(self, instance, selected_fields=None, **kwargs):
        """Defuse formula cells in every export format (CSV, XLSX, …) as the CSV writer does."""
        values = super().export_resource(instance, selected_fields, **kwargs)
        return [safe_cell(value) for value in values]

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        headers = [str(name or "").strip().lower() for name in dataset.headers or []]
        missing = [name for name in imports.PRODUCT_REQUIRED if name not in headers]
        if missing:
            raise ValidationError(f"Required column(s) missing: {', '.join(missing)}")
        dataset.headers = headers
        rows = []
        for number, values in enumerate(dataset, 1):
            row = {
                name: "" if value is None else str(value).strip()
                for name, value in zip(headers, values, strict=False)
                if name
            }
            rows.append((number + 1, row))
        good, errors = imports.validate_product_rows(rows)
        # Keyed by the dataset row number import-export passes to import_row.
        self._row_errors = {}
        for error in errors:
            self._row_errors.setdefault(error.line - 1, []).append(error.message)
        self._row_values = {row.line - 1: row.values() for row in good}

    def import_row(self, row, instance_loader, **kwargs):
        number = kwargs.get("row_number")
        problems = self._row_errors.get(number)
        if problems:
            return self._invalid_row(row, number, problems)
        values = self._row_values.get(number)
        if values is not None:
            for name, value in values.items():
                row[name] = "" if value is None else value
        return super().import_row(row, instance_loader, **kwargs)

    def _invalid_row(self, row, number: int, problems: list[str]):
        row_result = self.get_row_result_class()()
        row_result.import_type = row_result.IMPORT_TYPE_INVALID
        row_result.validation_error = ValidationError(
            {"__all__": [f"line {number + 1}: {problem}" for problem in problems]}
        )
        if self._meta.store_row_values:
            row_result.row_values = row
        return row_result
