"""Background work of the orders app (django.tasks; `manage.py db_worker` runs it)."""

from django.tasks import task


@task()
def reallocate_backorders(product_ids: list[int]) -> int:
    """Allocate waiting sales orders of these products, oldest order first."""
    from orders import sales

    return sales.reallocate_backorders(product_ids)
