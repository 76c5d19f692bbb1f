"""Write a scenario into the database: in bulk, or one ledger call per event.

The bulk writer mirrors what ``inventory.ledger`` writes for each event — the same
moves, lots, balances (with their last-change time), reservation entries and FIFO
cost layers with the same consumed costs — but inserts them in large batches.
``tests`` generate a small catalog both ways and compare the tables.
"""

from collections import deque
from decimal import ROUND_HALF_UP, Decimal

from django.core.management.color import no_style
from django.db import connection, transaction

from bench.scenario import Event, Scenario
from common.statistics import analyze
from inventory import ledger
from inventory.ledger.checks import COST_PLACES
from inventory.ledger.position import Position
from inventory.models import (
    CostLayer,
    Lot,
    Product,
    ProductPosition,
    ReservationEntry,
    StockLevel,
    StockMove,
)
from warehouses.models import Location, Warehouse

BATCH = 5_000
LEDGER_TABLES = (
    Product,
    Lot,
    StockMove,
    StockLevel,
    CostLayer,
    ReservationEntry,
    ProductPosition,
    Location,
)

MOVE_FIELDS = [
    "id",
    "product",
    "lot",
    "quantity",
    "from_location",
    "to_location",
    "kind",
    "unit_cost",
    "total_cost",
    "reason",
    "reference",
    "created_at",
    "units_after",
    "value_after",
    "average_cost_after",
    "backdated",
]


def insert_rows(model, field_names: list[str], rows) -> int:
    """INSERT plain tuples with executemany: the ORM's per-object cost dominates bulk loads."""
    fields = [model._meta.get_field(name) for name in field_names]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"
    adapt = connection.ops
    converters = []
    for f in fields:
        internal = f.get_internal_type()
        if internal == "DateTimeField":
            converters.append(adapt.adapt_datetimefield_value)
        elif internal == "DateField":
            converters.append(adapt.adapt_datefield_value)
        elif internal == "DecimalField":
            converters.append(
                lambda v, f=f: adapt.adapt_decimalfield_value(v, f.max_digits, f.decimal_places)
            )
        else:
            converters.append(None)
    pairs = list(enumerate(converters))
    count = 0
    batch = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(
                tuple(
                    v if c is None or v is None else c(v)
                    for v, (_, c) in zip(row, pairs, strict=True)
                )
            )
            if len(batch) >= BATCH:
                cursor.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            count += len(batch)
    return count


def create_master_data(scenario: Scenario) -> tuple[dict, dict]:
    """Insert warehouses, locations and products; return index → pk maps."""
    warehouses = [
        Warehouse.objects.create(code=f"WH{w + 1}", name=name)
        for w, name in enumerate(["Main warehouse", "North warehouse"])
    ]
    location_ids: dict[int, int] = {}
    # Parents come before children in the scenario's list, so a few passes by depth suffice.
    for depth in range(3):
        batch = [
            Location(
                warehouse=warehouses[spec.warehouse],
                parent_id=location_ids[spec.parent] if spec.parent is not None else None,
                code=spec.code,
                name="",
                barcode=spec.barcode,
                kind=spec.kind,
                path=spec.path,
                depth=spec.depth,
            )
            for spec in scenario.locations
            if spec.depth == depth
        ]
        created = Location.objects.bulk_create(batch, batch_size=BATCH)
        if any(obj.pk is None for obj in created):
            lookup = dict(Location.objects.filter(depth=depth).values_list("barcode", "pk"))
            for obj in created:
                obj.pk = lookup[obj.barcode]
        specs = [s for s in scenario.locations if s.depth == depth]
        for spec, obj in zip(specs, created, strict=True):
            location_ids[spec.index] = obj.pk
    Product.objects.bulk_create(
        [
            Product(
                sku=p.sku,
                name=p.name,
                gtin=p.gtin,
                sell_price=p.sell_price,
                tracking=p.tracking,
                fulfilment=p.fulfilment,
            )
            for p in scenario.products
        ],
        batch_size=BATCH,
    )
    sku_ids = dict(Product.objects.values_list("sku", "pk"))
    product_ids = {p.index: sku_ids[p.sku] for p in scenario.products}
    return product_ids, location_ids


class BulkWriter:
    """Apply events the way the ledger would, buffering rows for bulk inserts."""

    def __init__(self, product_ids: dict, location_ids: dict):
        self.product_ids = product_ids
        self.location_ids = location_ids
        self.next_move_id = (
            StockMove.objects.order_by("-id").values_list("id", flat=True).first() or 0
        ) + 1
        self.next_layer_id = 1
        self.next_lot_id = 1
        self.lots: dict[tuple[int, str], int] = {}
        self.lot_rows: list[tuple] = []
        # (product_pk, location_pk, lot_pk) -> [id order, on_hand, committed, updated_at]
        self.levels: dict[tuple, list] = {}
        # product_pk -> deque of [layer_id, remaining, unit_cost]
        self.open_layers: dict[int, deque] = {}
        self.layer_rows: list[list] = []
        self.moves: list[tuple] = []
        self.reservations: list[tuple] = []
        self.move_count = 0
        # product_pk -> [position after its last move, its time, its id] (as the ledger stores)
        self.positions: dict[int, list] = {}

    def _level(self, key, at, create=True):
        level = self.levels.get(key)
        if level is None and create:
            level = self.levels[key] = [len(self.levels), 0, 0, at]
        return level

    def _consume(self, product: int, quantity: int) -> tuple[Decimal, Decimal]:
        layers = self.open_layers[product]
        needed, total = quantity, Decimal("0")
        while needed:
            layer = layers[0]
            take = min(layer[1], needed)
            layer[1] -= take
            self.layer_rows[layer[0] - 1][3] = layer[1]
            total += take * layer[2]
            needed -= take
            if layer[1] == 0:
                layers.popleft()
        return total, (total / quantity).quantize(COST_PLACES, ROUND_HALF_UP)

    def _add_layer(self, product: int, move_id: int, quantity: int, cost: Decimal, at) -> None:
        layer_id = self.next_layer_id
        self.next_layer_id += 1
        # [id, product, move, remaining, quantity, unit cost, created at]
        self.layer_rows.append([layer_id, product, move_id, quantity, quantity, cost, at])
        self.open_layers.setdefault(product, deque()).append([layer_id, quantity, cost])

    def _move(
        self,
        *,
        product_id,
        lot_id,
        quantity,
        kind,
        created_at,
        from_location_id=None,
        to_location_id=None,
        unit_cost=None,
        total_cost=None,
        reason="",
    ) -> int:
        move_id = self.next_move_id
        self.next_move_id += 1
        state = self.positions.setdefault(product_id, [Position(), None, None])
        position, previous_at, _ = state
        position.apply(quantity, from_location_id, to_location_id, total_cost)
        state[1], state[2] = created_at, move_id
        self.moves.append(
            (
                move_id,
                product_id,
                lot_id,
                quantity,
                from_location_id,
                to_location_id,
                str(kind),
                unit_cost,
                total_cost,
                reason,
                "",
                created_at,
                position.quantity,
                position.fifo_value,
                position.average_cost,
                previous_at is not None and created_at < previous_at,
            )
        )
        if len(self.moves) >= BATCH * 4:
            self.flush_moves()
        return move_id

    def flush_moves(self) -> None:
        # Lots before the moves that refer to them.
        insert_rows(Lot, ["id", "product", "code", "expires_on", "received_on"], self.lot_rows)
        self.lot_rows = []
        if self.moves:
            self.move_count += insert_rows(StockMove, MOVE_FIELDS, self.moves)
            self.moves = []

    def apply(self, event: Event) -> None:
        """Buffer the rows the ledger would write for ``event``."""
        product = self.product_ids[event.product]
        location = self.location_ids[event.location]
        key = (product, location, self._lot_id(product, event))
        if event.kind == "receive":
            self._put_in(event, key, StockMove.Kind.RECEIPT)
        elif event.kind == "ship" or (event.kind == "adjust" and event.quantity < 0):
            self._take_out(event, key)
        elif event.kind == "adjust":
            self._put_in(event, key, StockMove.Kind.ADJUSTMENT, reason=event.reason)
        elif event.kind == "transfer":
            self._transfer(event, key)
        elif event.kind == "reserve":
            self._reserve(event, key)
        else:
            raise ValueError(f"unknown event kind {event.kind}")

    def _lot_id(self, product: int, event: Event) -> int | None:
        if not event.lot:
            return None
        lot_id = self.lots.get((product, event.lot))
        if lot_id is None:
            lot_id = self.next_lot_id
            self.next_lot_id += 1
            self.lots[(product, event.lot)] = lot_id
            self.lot_rows.append((lot_id, product, event.lot, event.expires_on, event.at.date()))
        return lot_id

    def _put_in(self, event: Event, key: tuple, kind: str, reason: str = "") -> None:
        # A receipt or a found-stock adjustment: a move in, a balance up, a new cost layer.
        product, location, lot_id = key
        at = event.at
        cost = event.unit_cost.quantize(COST_PLACES, ROUND_HALF_UP)
        move_id = self._move(
            product_id=product,
            lot_id=lot_id,
            quantity=event.quantity,
            to_location_id=location,
            kind=kind,
            unit_cost=cost,
            total_cost=cost * event.quantity,
            reason=reason,
            created_at=at,
        )
        level = self._level(key, at)
        level[1] += event.quantity
        level[3] = at
        self._add_layer(product, move_id, event.quantity, cost, at)

    def _take_out(self, event: Event, key: tuple) -> None:
        # A shipment or a write-off: a move out at the FIFO cost it consumes.
        product, location, lot_id = key
        at = event.at
        quantity = abs(event.quantity)
        total, unit = self._consume(product, quantity)
        self._move(
            product_id=product,
            lot_id=lot_id,
            quantity=quantity,
            from_location_id=location,
            kind=StockMove.Kind.SHIPMENT if event.kind == "ship" else StockMove.Kind.ADJUSTMENT,
            unit_cost=unit,
            total_cost=total,
            reason=event.reason,
            created_at=at,
        )
        level = self._level(key, at, create=False)
        level[1] -= quantity
        level[3] = at

    def _transfer(self, event: Event, key: tuple) -> None:
        product, location, lot_id = key
        at = event.at
        target = self.location_ids[event.to_location]
        self._move(
            product_id=product,
            lot_id=lot_id,
            quantity=event.quantity,
            from_location_id=location,
            to_location_id=target,
            kind=StockMove.Kind.TRANSFER,
            created_at=at,
        )
        source = self._level(key, at)
        dest = self._level((product, target, lot_id), at)
        source[1] -= event.quantity
        dest[1] += event.quantity
        source[3] = dest[3] = at

    def _reserve(self, event: Event, key: tuple) -> None:
        product, location, lot_id = key
        level = self._level(key, event.at, create=False)
        level[2] += event.quantity
        level[3] = event.at
        self.reservations.append(
            (
                product,
                location,
                lot_id,
                event.quantity,
                str(ReservationEntry.Kind.RESERVE),
                event.at,
            )
        )

    def finish(self) -> None:
        self.flush_moves()
        insert_rows(
            CostLayer,
            ["id", "product", "move", "remaining", "quantity", "unit_cost", "created_at"],
            self.layer_rows,
        )
        ordered = sorted(self.levels.items(), key=lambda item: item[1][0])
        insert_rows(
            StockLevel,
            ["product", "location", "lot", "on_hand", "committed", "updated_at"],
            (
                (product, location, lot, on_hand, committed, updated_at)
                for (product, location, lot), (_, on_hand, committed, updated_at) in ordered
            ),
        )
        insert_rows(
            ProductPosition,
            ["product", "move", "units", "value", "average_cost", "moved_at"],
            (
                (product, move_id, pos.quantity, pos.fifo_value, pos.average_cost, moved_at)
                for product, (pos, moved_at, move_id) in sorted(self.positions.items())
            ),
        )
        insert_rows(
            ReservationEntry,
            ["product", "location", "lot", "quantity", "kind", "created_at"],
            self.reservations,
        )
        reset_sequences()


def reset_sequences() -> None:
    """After inserts with explicit ids, move PostgreSQL sequences past them."""
    if connection.vendor != "postgresql":
        return
    statements = connection.ops.sequence_reset_sql(no_style(), [StockMove, CostLayer, Lot])
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def load_bulk(scenario: Scenario) -> int:
    """Write the scenario with bulk inserts; return the number of events."""
    with transaction.atomic():
        product_ids, location_ids = create_master_data(scenario)
        writer = BulkWriter(product_ids, location_ids)
        events = 0
        for event in scenario.events():
            writer.apply(event)
            events += 1
        writer.finish()
        # Inside the transaction: PostgreSQL's ANALYZE sees the transaction's own rows,
        # so what runs next in it (check_ledger in the tests) is planned for them.
        analyze(*LEDGER_TABLES)
    return events


def load_via_ledger(scenario: Scenario) -> int:
    """Write the scenario with one ledger call per event (slow; the reference)."""
    with transaction.atomic():
        product_ids, location_ids = create_master_data(scenario)
    products = Product.objects.in_bulk(list(product_ids.values()))
    locations = Location.objects.in_bulk(list(location_ids.values()))
    lots: dict[tuple[int, str], Lot] = {}
    events = 0
    for event in scenario.events():
        product = products[product_ids[event.product]]
        location = locations[location_ids[event.location]]
        lot = lots.get((product.pk, event.lot)) if event.lot else None
        if event.kind == "receive":
            move = ledger.receive(
                product=product,
                location=location,
                quantity=event.quantity,
                unit_cost=event.unit_cost,
                lot_code=event.lot,
                expires_on=event.expires_on,
                at=event.at,
            )
            if event.lot:
                lots[(product.pk, event.lot)] = move.lot
        elif event.kind == "ship":
            ledger.ship(
                product=product, location=location, quantity=event.quantity, lot=lot, at=event.at
            )
        elif event.kind == "transfer":
            ledger.transfer(
                product=product,
                from_location=location,
                to_location=locations[location_ids[event.to_location]],
                quantity=event.quantity,
                lot=lot,
                at=event.at,
            )
        elif event.kind == "adjust":
            ledger.adjust(
                product=product,
                location=location,
                quantity=event.quantity,
                lot=lot,
                unit_cost=event.unit_cost,
                reason=event.reason,
                at=event.at,
            )
        elif event.kind == "reserve":
            ledger.reserve(
                product=product, location=location, quantity=event.quantity, lot=lot, at=event.at
            )
        events += 1
    analyze(*LEDGER_TABLES)
    return events
