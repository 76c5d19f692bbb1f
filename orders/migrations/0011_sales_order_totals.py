"""Each sales order carries its lines' sums, kept by triggers.

The sales report sums a month of orders per channel; joining every line of every order
(225,000 lines for 100,000 orders at the benchmark's `large`) took 270–300 ms. The
sums are written by the database itself on every insert, update and delete of a line,
so every way a line is written keeps them: intake, allocation, shipping, dropship,
bulk loads, a queryset ``update()``.
"""

from django.db import migrations, models

# (column, what one line adds, decimal places on SQLite where sums are REAL)
SUMS = [
    ("total_units", "{t}.quantity", None),
    ("total_sales", "{t}.quantity * {t}.unit_price", 2),
    ("total_units_shipped", "{t}.quantity_shipped", None),
    ("total_sales_shipped", "{t}.quantity_shipped * {t}.unit_price", 2),
    ("total_cost_of_goods", "COALESCE({t}.cost_of_goods, 0)", 6),
]
LINE_COLUMNS = "order_id, quantity, unit_price, quantity_shipped, cost_of_goods"


def _delta_select(sources: list[tuple[str, int]]) -> str:
    """Per order, the sums of ``sources`` (transition table, sign) that changed."""
    parts = []
    for table, sign in sources:
        terms = ", ".join(
            f"{'-' if sign < 0 else ''}({expression.format(t=table)}) AS {column}"
            for column, expression, _ in SUMS
        )
        parts.append(f"SELECT {table}.order_id, {terms} FROM {table}")
    sums = ", ".join(f"SUM({column}) AS {column}" for column, _, _ in SUMS)
    changed = " OR ".join(f"SUM({column}) <> 0" for column, _, _ in SUMS)
    return (
        f"SELECT order_id, {sums} FROM ({' UNION ALL '.join(parts)}) AS lines "
        f"GROUP BY order_id HAVING {changed}"
    )


def _postgres_function(name: str, sources: list[tuple[str, int]]) -> str:
    assignments = ", ".join(f"{column} = o.{column} + d.{column}" for column, _, _ in SUMS)
    return f"""
CREATE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    UPDATE orders_salesorder AS o SET {assignments}
    FROM ({_delta_select(sources)}) AS d
    WHERE o.id = d.order_id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
"""


# Statement triggers with transition tables: one UPDATE per statement, whatever its rows.
POSTGRES_TRIGGERS = f"""
{_postgres_function("sales_line_totals_insert", [("new_lines", 1)])}
{_postgres_function("sales_line_totals_update", [("new_lines", 1), ("old_lines", -1)])}
{_postgres_function("sales_line_totals_delete", [("old_lines", -1)])}
CREATE TRIGGER sales_line_totals_insert AFTER INSERT ON orders_salesorderline
    REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION sales_line_totals_insert();
CREATE TRIGGER sales_line_totals_update AFTER UPDATE ON orders_salesorderline
    REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION sales_line_totals_update();
CREATE TRIGGER sales_line_totals_delete AFTER DELETE ON orders_salesorderline
    REFERENCING OLD TABLE AS old_lines
    FOR EACH STATEMENT EXECUTE FUNCTION sales_line_totals_delete();
"""

POSTGRES_DROP = """
DROP TRIGGER IF EXISTS sales_line_totals_delete ON orders_salesorderline;
DROP TRIGGER IF EXISTS sales_line_totals_update ON orders_salesorderline;
DROP TRIGGER IF EXISTS sales_line_totals_insert ON orders_salesorderline;
DROP FUNCTION IF EXISTS sales_line_totals_delete();
DROP FUNCTION IF EXISTS sales_line_totals_update();
DROP FUNCTION IF EXISTS sales_line_totals_insert();
"""


def _sqlite_add(row: str, sign: str) -> str:
    """``UPDATE`` adding (``+``) or taking away (``-``) one line's sums from its order.

    SQLite keeps decimals as REAL: each sum is rounded to its places, so it stays the
    number nearest to the exact one however many lines went through it."""
    assignments = []
    for column, expression, places in SUMS:
        value = f"{column} {sign} ({expression.format(t=row)})"
        assignments.append(f"{column} = {f'ROUND({value}, {places})' if places else value}")
    return f"UPDATE orders_salesorder SET {', '.join(assignments)} WHERE id = {row}.order_id;"


SQLITE_TRIGGERS = [
    f"""
    CREATE TRIGGER sales_line_totals_insert AFTER INSERT ON orders_salesorderline
    BEGIN {_sqlite_add("NEW", "+")} END
    """,
    f"""
    CREATE TRIGGER sales_line_totals_update
        AFTER UPDATE OF {LINE_COLUMNS} ON orders_salesorderline
        FOR EACH ROW WHEN NEW.order_id IS NOT OLD.order_id
            OR NEW.quantity IS NOT OLD.quantity OR NEW.unit_price IS NOT OLD.unit_price
            OR NEW.quantity_shipped IS NOT OLD.quantity_shipped
            OR NEW.cost_of_goods IS NOT OLD.cost_of_goods
    BEGIN {_sqlite_add("OLD", "-")} {_sqlite_add("NEW", "+")} END
    """,
    f"""
    CREATE TRIGGER sales_line_totals_delete AFTER DELETE ON orders_salesorderline
    BEGIN {_sqlite_add("OLD", "-")} END
    """,
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS sales_line_totals_delete",
    "DROP TRIGGER IF EXISTS sales_line_totals_update",
    "DROP TRIGGER IF EXISTS sales_line_totals_insert",
]


def _backfill(vendor: str) -> str:
    """Every existing order's sums from its lines."""
    sums = ", ".join(
        f"SUM({expression.format(t='l')}) AS {column}" for column, expression, _ in SUMS
    )
    if vendor == "postgresql":
        assignments = ", ".join(f"{column} = d.{column}" for column, _, _ in SUMS)
        return (
            f"UPDATE orders_salesorder AS o SET {assignments} FROM (SELECT l.order_id, {sums} "
            "FROM orders_salesorderline AS l GROUP BY l.order_id) AS d WHERE o.id = d.order_id"
        )
    assignments = ", ".join(
        f"{column} = {f'ROUND(d.{column}, {places})' if places else f'd.{column}'}"
        for column, _, places in SUMS
    )
    return (
        f"UPDATE orders_salesorder SET {assignments} FROM (SELECT l.order_id, {sums} "
        "FROM orders_salesorderline AS l GROUP BY l.order_id) AS d "
        f"WHERE orders_salesorder.id = d.order_id"
    )


def _run(schema_editor, statements):
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        _run(schema_editor, [POSTGRES_TRIGGERS, _backfill(vendor)])
    elif vendor == "sqlite":
        _run(schema_editor, [*SQLITE_TRIGGERS, _backfill(vendor)])
    else:  # pragma: no cover - only the two databases are supported
        raise RuntimeError(f"No sales order total triggers for {vendor}")


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    _run(schema_editor, [POSTGRES_DROP] if vendor == "postgresql" else SQLITE_DROP)


def money(digits: int, places: int) -> models.DecimalField:
    return models.DecimalField(decimal_places=places, default=0, editable=False, max_digits=digits)


class Migration(migrations.Migration):
    dependencies = [("orders", "0010_sales_line_waiting_index")]

    operations = [
        migrations.AddField(
            model_name="salesorder",
            name="total_units",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(model_name="salesorder", name="total_sales", field=money(20, 2)),
        migrations.AddField(
            model_name="salesorder",
            name="total_units_shipped",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="salesorder", name="total_sales_shipped", field=money(20, 2)
        ),
        migrations.AddField(
            model_name="salesorder", name="total_cost_of_goods", field=money(24, 6)
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
