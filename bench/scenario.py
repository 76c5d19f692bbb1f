"""A deterministic year of warehouse activity for a catalog of a given size.

The scenario is pure Python: it draws master data and a chronological stream of
ledger events (receipts, shipments, transfers, adjustments, reservations) from a
seeded random generator, keeping its own model of the ledger (balances and FIFO
cost layers) so that every event it emits is one the real ledger accepts.

Demand shape: order lines per product follow a Zipf law, as the real order lines
in shared/data/uci-online-retail-2010-12 do (2,793 products; a log-log fit of
lines against rank over the top 1,000 gives an exponent of about 0.55, units
about 0.86); the quantity per line is drawn from that month's observed quantities
(1: 35%, 2: 16%, 12: 9% …); weekday weights follow its daily totals (no trade on
Saturdays, lighter Sundays).
"""

import bisect
import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

ZIPF_EXPONENT = 0.8
LINE_QUANTITIES = [1, 2, 12, 3, 6, 4, 24, 5, 8, 10, 48]
LINE_WEIGHTS = [354, 160, 86, 72, 70, 63, 39, 24, 23, 22, 10]
# Monday .. Sunday
WEEKDAY_WEIGHTS = [1.0, 1.1, 1.05, 1.1, 0.9, 0.05, 0.6]
WORDS = (
    "alpine amber antique arctic autumn bamboo basil beacon birch bistro bloom bold botanic "
    "breeze bronze canvas cedar charcoal cherry citrus classic clover coastal cobalt copper "
    "coral cotton crystal daisy dawn desert ember fern fig forest garden ginger glacier golden "
    "granite harbor hazel heather honey indigo ivory jade juniper lagoon lavender lemon linen "
    "lotus maple marble meadow mint misty moss nordic oak ocean olive onyx orchard pebble "
    "pepper pine plum polar poppy prairie quartz rain river rose ruby rustic saffron sage sand "
    "sapphire scarlet sea shadow silver slate snow spice spring stone storm summer sunset "
    "thistle thyme timber topaz tulip twilight velvet violet walnut willow winter "
).split()
NOUNS = (
    "mug candle lantern tray basket cushion jar tin bag notebook frame clock vase bowl plate "
    "cup teapot towel apron coaster doormat blanket mirror hook shelf box wreath garland tea "
    "coffee honey jam biscuits chocolate granola oil vinegar spice soap lotion balm "
).split()


@dataclass(frozen=True)
class Size:
    products: int
    locations: int
    lots: int
    moves: int
    days: int = 365


SIZES = {
    "large": Size(products=50_000, locations=2_000, lots=200_000, moves=1_000_000),
    "medium": Size(products=5_000, locations=200, lots=20_000, moves=100_000),
    "small": Size(products=500, locations=20, lots=2_000, moves=10_000),
    # Only for quick tests of the generator itself.
    "tiny": Size(products=60, locations=12, lots=150, moves=1_200, days=60),
}


@dataclass
class LocationSpec:
    index: int
    warehouse: int
    code: str
    barcode: str
    kind: str
    parent: int | None
    path: str
    depth: int


@dataclass
class ProductSpec:
    index: int
    sku: str
    name: str
    gtin: str | None
    sell_price: Decimal
    tracking: str
    fulfilment: str
    base_cost: Decimal
    weight: float = 0.0
    cost_trend: Decimal = Decimal("0")
    home: tuple[int, int] = (0, 0)

    @property
    def lot_tracked(self) -> bool:
        return self.tracking != "none"

    @property
    def stocked(self) -> bool:
        return self.fulfilment == "stocked"


@dataclass
class Event:
    kind: str  # receive | ship | transfer | adjust | reserve
    at: datetime
    product: int
    location: int
    quantity: int
    lot: str | None = None
    expires_on: date | None = None
    to_location: int | None = None
    unit_cost: Decimal | None = None
    reason: str = ""


@dataclass
class LotState:
    code: str
    expires_on: date | None
    received_on: date
    order: int


@dataclass
class Book:
    """The scenario's own model of the ledger, enough to emit only valid events."""

    # (product, location, lot code) -> [on_hand, committed]
    levels: dict = field(default_factory=dict)
    # product -> set of level keys with stock
    by_product: dict = field(default_factory=dict)
    # product -> lot code -> LotState
    lots: dict = field(default_factory=dict)

    def add(self, key, quantity: int) -> None:
        level = self.levels.setdefault(key, [0, 0])
        level[0] += quantity
        product = key[0]
        if level[0] > 0:
            self.by_product.setdefault(product, set()).add(key)
        else:
            self.by_product.get(product, set()).discard(key)

    def free(self, key) -> int:
        level = self.levels.get(key)
        return level[0] - level[1] if level else 0


def ean13(base12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(base12))
    return base12 + str((10 - total % 10) % 10)


def zipf_weights(n: int, exponent: float, rng: random.Random) -> list[float]:
    ranks = list(range(1, n + 1))
    rng.shuffle(ranks)
    return [1.0 / (rank**exponent) for rank in ranks]


def build_locations(size: Size) -> list[LocationSpec]:
    """Two warehouses, each with receiving, shipping and quarantine and zones > aisles > bins."""
    per_warehouse = max(size.locations // 2, 12)
    zones = max(1, round(math.sqrt(per_warehouse) / 8))
    aisles = max(2, round(math.sqrt(per_warehouse / zones) / 1.5))
    bins = max(2, (per_warehouse - 3 - zones - zones * aisles) // (zones * aisles))
    specs: list[LocationSpec] = []

    def add(warehouse, code, kind, parent):
        wh_code = f"WH{warehouse + 1}"
        if parent is None:
            path, depth = f"{wh_code}/{code}", 0
        else:
            path, depth = f"{specs[parent].path}/{code}", specs[parent].depth + 1
        barcode = path.replace("/", "-")
        specs.append(LocationSpec(len(specs), warehouse, code, barcode, kind, parent, path, depth))
        return len(specs) - 1

    for warehouse in range(2):
        add(warehouse, "RCV", "receiving", None)
        add(warehouse, "SHP", "shipping", None)
        add(warehouse, "QUA", "quarantine", None)
        for z in range(zones):
            zone = add(warehouse, chr(ord("A") + z), "storage", None)
            for a in range(aisles):
                aisle = add(warehouse, f"{a + 1:02d}", "storage", zone)
                for b in range(bins):
                    add(warehouse, f"{b + 1:02d}", "storage", aisle)
    return specs


def build_products(size: Size, rng: random.Random) -> list[ProductSpec]:
    products = []
    weights = zipf_weights(size.products, ZIPF_EXPONENT, rng)
    for i in range(size.products):
        roll = rng.random()
        tracking = "lot_expiry" if roll < 1 / 3 else ("lot" if roll < 0.4 else "none")
        fulfilment = "dropship" if rng.random() < 0.05 else "stocked"
        cost = Decimal(rng.randint(50, 5000)) / 100
        price = (cost * Decimal(rng.choice(["1.8", "2.2", "2.5", "3.0"]))).quantize(
            Decimal("0.01")
        )
        gtin = None
        if rng.random() < 0.7:
            gtin = "0" + ean13(f"50{i:010d}")
        name = f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {rng.choice(NOUNS)}"
        products.append(
            ProductSpec(
                index=i,
                sku=f"SKU-{i + 1:06d}",
                name=name,
                gtin=gtin,
                sell_price=price,
                tracking=tracking,
                fulfilment=fulfilment,
                base_cost=cost,
                weight=weights[i],
                cost_trend=Decimal(rng.choice(["-0.05", "0", "0.05", "0.1", "0.1", "0.2"])),
            )
        )
    return products


@dataclass(frozen=True)
class YearPlan:
    """How many events of each kind the year holds, and the receipt sizes they imply."""

    lot_receipts: int
    plain_receipts: int
    transfers: int
    adjustments: int
    shipments: int
    reserved: int
    lot_per_product: float
    plain_units: float


class Scenario:
    """Master data and the event stream for one size and seed."""

    def __init__(self, size: Size, *, seed: int = 1, end: date | None = None):
        self.size = size
        self.seed = seed
        self.end = end or date.today()
        self.start = self.end - timedelta(days=size.days - 1)
        rng = random.Random(seed)
        self.rng = rng
        self.locations = build_locations(size)
        self.products = build_products(size, rng)
        self.bins = [
            loc.index for loc in self.locations if loc.depth == 2 and loc.kind == "storage"
        ]
        if not self.bins:
            self.bins = [loc.index for loc in self.locations if loc.kind == "storage"]
        self.bins_by_warehouse = {
            w: [i for i in self.bins if self.locations[i].warehouse == w] for w in range(2)
        }
        self.quarantine = {
            loc.warehouse: loc.index for loc in self.locations if loc.kind == "quarantine"
        }
        for product in self.products:
            product.home = (
                rng.choice(self.bins_by_warehouse[0]),
                rng.choice(self.bins_by_warehouse[1]),
            )
        self.stocked = [p for p in self.products if p.stocked]
        self.lot_products = [p for p in self.stocked if p.lot_tracked]
        self.plain_products = [p for p in self.stocked if not p.lot_tracked]
        total_weight = sum(p.weight for p in self.stocked)
        self._demand_cum = list(itertools.accumulate(p.weight for p in self.stocked))
        self._plain_cum = list(itertools.accumulate(p.weight for p in self.plain_products))
        self.total_weight = total_weight
        self.book = Book()
        self._lot_serial = 0

    # --- drawing helpers --------------------------------------------------------

    def _pick_weighted(self, items, cumulative):
        x = self.rng.random() * cumulative[-1]
        return items[bisect.bisect_left(cumulative, x)]

    def _line_quantity(self) -> int:
        return self.rng.choices(LINE_QUANTITIES, LINE_WEIGHTS)[0]

    def _yearly_units(self, product: ProductSpec, shipments: int) -> float:
        return 5.5 * shipments * product.weight / self.total_weight

    def _unit_cost(self, product: ProductSpec, day: date) -> Decimal:
        """Purchase prices follow a yearly trend per product (mostly rising), with noise."""
        years = Decimal((day - self.start).days) / 365
        trend = 1 + product.cost_trend * years
        noise = Decimal(str(round(self.rng.uniform(0.97, 1.03), 4)))
        return (product.base_cost * trend * noise).quantize(Decimal("0.0001"), ROUND_HALF_UP)

    def _new_lot(self, product: ProductSpec, day: date) -> LotState:
        self._lot_serial += 1
        expires = None
        if product.tracking == "lot_expiry":
            expires = day + timedelta(days=self.rng.choice([21, 45, 90, 120, 180, 365, 540]))
        lot = LotState(f"L{day:%y%m%d}-{self._lot_serial:06d}", expires, day, self._lot_serial)
        self.book.lots.setdefault(product.index, {})[lot.code] = lot
        return lot

    def _timestamp(self, day: date, slot: int, slots: int) -> datetime:
        seconds = 6 * 3600 + int(14 * 3600 * (slot + 0.5) / max(slots, 1))
        return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=seconds)

    # --- events -----------------------------------------------------------------

    def _receive(self, product: ProductSpec, day: date, at: datetime, quantity: int) -> Event:
        warehouse = 0 if self.rng.random() < 0.7 else 1
        location = product.home[warehouse]
        lot = self._new_lot(product, day) if product.lot_tracked else None
        key = (product.index, location, lot.code if lot else None)
        self.book.add(key, quantity)
        return Event(
            "receive",
            at,
            product.index,
            location,
            quantity,
            lot=lot.code if lot else None,
            expires_on=lot.expires_on if lot else None,
            unit_cost=self._unit_cost(product, day),
        )

    def _sellable_keys(self, product: int, day: date) -> list:
        """Keys with free stock, FEFO then FIFO by lot, unexpired, storage/receiving only."""
        keys = []
        lots = self.book.lots.get(product, {})
        for key in self.book.by_product.get(product, ()):
            if self.book.free(key) <= 0:
                continue
            if self.locations[key[1]].kind not in ("storage", "receiving"):
                continue
            lot = lots.get(key[2]) if key[2] else None
            if lot and lot.expires_on and lot.expires_on < day:
                continue
            order = (
                lot.expires_on or date.max if lot else date.max,
                lot.order if lot else 0,
                key[1],
            )
            keys.append((order, key))
        keys.sort()
        return [key for _, key in keys]

    def _ship(self, day: date, at: datetime) -> Event | None:
        for _ in range(12):
            product = self._pick_weighted(self.stocked, self._demand_cum)
            keys = self._sellable_keys(product.index, day)
            if keys:
                key = keys[0]
                quantity = min(self._line_quantity(), self.book.free(key))
                self.book.add(key, -quantity)
                return Event("ship", at, key[0], key[1], quantity, lot=key[2])
        return None

    def _transfer(self, day: date, at: datetime) -> Event | None:
        for _ in range(12):
            product = self._pick_weighted(self.stocked, self._demand_cum)
            keys = [
                k for k in self.book.by_product.get(product.index, ()) if self.book.free(k) > 0
            ]
            if not keys:
                continue
            key = sorted(keys, key=lambda k: (k[1], k[2] or ""))[0]
            other = product.home[1] if key[1] == product.home[0] else product.home[0]
            if self.rng.random() < 0.2:
                other = self.rng.choice(self.bins)
            if other == key[1]:
                continue
            quantity = max(1, self.book.free(key) // 2)
            self.book.add(key, -quantity)
            self.book.add((key[0], other, key[2]), quantity)
            return Event("transfer", at, key[0], key[1], quantity, lot=key[2], to_location=other)
        return None

    def _adjust(self, day: date, at: datetime) -> Event | None:
        for _ in range(12):
            product = self._pick_weighted(self.stocked, self._demand_cum)
            keys = sorted(
                (k for k in self.book.by_product.get(product.index, ()) if self.book.free(k) > 0),
                key=lambda k: (k[1], k[2] or ""),
            )
            if not keys:
                continue
            key = keys[0]
            lot = self.book.lots.get(key[0], {}).get(key[2]) if key[2] else None
            if lot and lot.expires_on and lot.expires_on < day:
                quantity, reason = -self.book.free(key), "Expired: written off"
            elif self.rng.random() < 0.6:
                quantity, reason = -min(self.book.free(key), self.rng.randint(1, 3)), "Damaged"
            else:
                quantity, reason = self.rng.randint(1, 4), "Found in cycle count"
            self.book.add(key, quantity)
            cost = self._unit_cost(product, day) if quantity > 0 else None
            return Event(
                "adjust", at, key[0], key[1], quantity, lot=key[2], unit_cost=cost, reason=reason
            )
        return None

    def events(self):
        """Yield the whole year's events in chronological order."""
        plan = self._plan()
        yield from self._opening_stock(plan)
        yield from self._year(plan)
        yield from self._reservations(plan)

    def _plan(self) -> YearPlan:
        size = self.size
        opening = len(self.stocked)
        lot_receipts = max(0, size.lots - len(self.lot_products))
        plain_receipts = max(0, int(size.moves * 0.08))
        remaining = size.moves - opening - lot_receipts - plain_receipts
        transfers = int(remaining * 0.08)
        adjustments = int(remaining * 0.03)
        shipments = remaining - transfers - adjustments
        plain_share = sum(p.weight for p in self.plain_products) / self.total_weight
        return YearPlan(
            lot_receipts=lot_receipts,
            plain_receipts=plain_receipts,
            transfers=transfers,
            adjustments=adjustments,
            shipments=shipments,
            reserved=max(1, size.moves // 200),
            lot_per_product=lot_receipts / max(len(self.lot_products), 1),
            plain_units=5.5 * shipments * plain_share,
        )

    def _opening_stock(self, plan: YearPlan):
        # Every stocked product is received on the first morning.
        start_at = datetime(self.start.year, self.start.month, self.start.day, 5, tzinfo=UTC)
        for i, product in enumerate(self.stocked):
            yearly = self._yearly_units(product, plan.shipments)
            quantity = max(6, int(yearly * 0.4) + self.rng.randint(0, 10))
            at = start_at + timedelta(milliseconds=i)
            yield self._receive(product, self.start, at, quantity)

    def _year(self, plan: YearPlan):
        # The year's events in shuffled slots, spread over the days by weekday weight.
        slots = (
            ["receive_lot"] * plan.lot_receipts
            + ["receive_plain"] * plan.plain_receipts
            + ["transfer"] * plan.transfers
            + ["adjust"] * plan.adjustments
            + ["ship"] * plan.shipments
        )
        self.rng.shuffle(slots)
        day_weights = [
            WEEKDAY_WEIGHTS[(self.start + timedelta(days=d)).weekday()]
            for d in range(self.size.days)
        ]
        total = sum(day_weights)
        per_day = [int(len(slots) * w / total) for w in day_weights]
        per_day[-1] += len(slots) - sum(per_day)
        position = 0
        for d, count in enumerate(per_day):
            day = self.start + timedelta(days=d)
            for s in range(count):
                kind = slots[position]
                position += 1
                yield self._slot_event(kind, day, self._timestamp(day, s, count), plan)

    def _slot_event(self, kind: str, day: date, at: datetime, plan: YearPlan) -> Event:
        rng = self.rng
        event = None
        if kind == "receive_lot" and self.lot_products:
            product = rng.choice(self.lot_products)
            yearly = self._yearly_units(product, plan.shipments)
            quantity = max(4, int(yearly / max(plan.lot_per_product, 1) * 1.3) + rng.randint(0, 6))
            event = self._receive(product, day, at, quantity)
        elif kind == "receive_plain" and self.plain_products:
            product = self._pick_weighted(self.plain_products, self._plain_cum)
            quantity = max(
                6, int(plan.plain_units / plan.plain_receipts * 1.2) + rng.randint(0, 12)
            )
            event = self._receive(product, day, at, quantity)
        elif kind == "transfer":
            event = self._transfer(day, at)
        elif kind == "adjust":
            event = self._adjust(day, at)
        if event is None:
            event = self._ship(day, at)
        if event is None:
            # Nothing sellable was found: a small top-up keeps the count exact.
            product = self._pick_weighted(self.stocked, self._demand_cum)
            event = self._receive(product, day, at, 12)
        return event

    def _reservations(self, plan: YearPlan):
        # Open reservations on the last evening, as sales orders not yet shipped.
        end_at = datetime(self.end.year, self.end.month, self.end.day, 21, tzinfo=UTC)
        for i in range(plan.reserved):
            product = self._pick_weighted(self.stocked, self._demand_cum)
            keys = self._sellable_keys(product.index, self.end)
            if not keys:
                continue
            key = keys[0]
            quantity = min(self._line_quantity(), self.book.free(key))
            self.book.levels[key][1] += quantity
            yield Event(
                "reserve", end_at + timedelta(milliseconds=i), key[0], key[1], quantity, key[2]
            )
