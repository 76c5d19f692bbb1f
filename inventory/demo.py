"""Demo data: warehouses, locations, a catalog and 90 days of history, all through the ledger.

Product names, prices and the shape of daily demand come from the real UCI
"Online Retail" order lines (December 2010) when ``../shared/data`` holds them;
otherwise they are generated. The same seed always gives the same data.

Every unit moves through a ledger call (about 3 ms each), so the size of the history is
the seed's time: shipments are daily in the last two weeks and weekly per product
before that, which keeps ``make run``'s first start short.
"""

import random
import statistics
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from time import perf_counter

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.utils import timezone

from inventory import ledger
from inventory.demo_catalog import CENTS, gtin_for, pick_catalog
from inventory.models import Lot, Product, ReservationEntry
from warehouses.models import Location, Warehouse

DEMO_USERS = [
    # username, password, role group, is_staff, is_superuser
    ("admin", "admin-demo", None, True, True),
    ("manager", "manager-demo", "manager", True, False),
    ("buyer", "buyer-demo", "buyer", False, False),
    ("clerk", "clerk-demo", "clerk", False, False),
]
# What each demo login may do, in the pages that exist (make run's banner, README).
DEMO_ROLES = {
    "admin": "superuser: every page, and the Django admin at /admin/",
    "manager": "stock, adjust, transfer, buying, selling, channels, valuation; Django admin",
    "buyer": "products and stock; suppliers and purchase orders; sales orders (read)",
    "clerk": "stock lookup; receiving purchase orders; picking and shipping sales orders",
}
WAREHOUSES = [("MAIN", "Main warehouse", "1 Dock Road, Leeds"), ("EAST", "East depot", "")]
ZONES = ("A", "B")
AISLES = ("01", "02")
BINS = ("01", "02", "03", "04", "05")
# The history ships every day in its last two weeks and once a week before that.
DAILY_SHIPPING_DAYS = 14


@dataclass
class SeedResult:
    warehouses: int = 0
    locations: int = 0
    products: int = 0
    lots: int = 0
    moves: int = 0
    reservations: int = 0
    sales_orders: int = 0
    source: str = ""
    users: list[str] = field(default_factory=list)

    def __str__(self):
        return (
            f"Demo data ({self.source}): {self.warehouses} warehouses, "
            f"{self.locations} locations, "
            f"{self.products} products, {self.lots} lots, {self.moves} stock moves, "
            f"{self.sales_orders} sales orders ({self.reservations} reservations)."
        )


# Called after each stage with its name and the seconds it took.
Progress = Callable[[str, float], None]


class _Stages:
    """Time each stage of the seed and report it to ``progress``."""

    def __init__(self, progress: Progress | None):
        self.progress = progress

    @contextmanager
    def __call__(self, name: str):
        started = perf_counter()
        yield
        if self.progress is not None:
            self.progress(name, perf_counter() - started)


def login_lines(usernames=None) -> list[str]:
    """Return a "user / password  what it may do" line per demo user that exists.

    ``usernames`` narrows the list (the users a seed has just created).
    """
    wanted = [username for username, *_ in DEMO_USERS]
    if usernames is not None:
        wanted = [username for username in wanted if username in usernames]
    present = set(
        get_user_model().objects.filter(username__in=wanted).values_list("username", flat=True)
    )
    return [
        f"{f'{username} / {password}':<24} {DEMO_ROLES[username]}"
        for username, password, *_ in DEMO_USERS
        if username in present
    ]


def already_seeded() -> bool:
    return Warehouse.objects.filter(code__in=[code for code, _, _ in WAREHOUSES]).exists()


# --- the seed -----------------------------------------------------------------------


class Seeder:
    def __init__(self, *, seed: int, products: int, days: int, sell: Callable | None = None):
        self.rng = random.Random(seed)
        # Selling (suppliers, channels, sales orders) lives in the orders app above this
        # one; its seeding step is handed in by whoever runs the seed (the command).
        self.sell = sell
        self.product_count = products
        self.days = days
        self.clock: datetime | None = None
        # Mirror of on-hand per (product, location): {lot id or None: units}.
        self.on_hand: dict[tuple[int, int], dict[int | None, int]] = defaultdict(
            lambda: defaultdict(int)
        )
        self.lots: dict[int, Lot] = {}
        self.result = SeedResult()

    # Each ledger call gets the next timestamp, so history is strictly chronological.
    def at(self, day: date, hour: int) -> datetime:
        moment = timezone.make_aware(datetime.combine(day, time(hour)))
        if self.clock is None or moment > self.clock:
            self.clock = moment
        else:
            self.clock += timedelta(seconds=rng_seconds(self.rng))
        return self.clock

    def run(self, progress: Progress | None = None) -> SeedResult:
        stage = _Stages(progress)
        # Hashing a password takes half a second by design: the demo logins are hashed
        # on another core while the ledger history is written.
        with ThreadPoolExecutor(max_workers=2) as hasher:
            with stage("users"):
                self.users = self.create_users(hasher)
            self.write_stock(stage)
            with stage("demo passwords"):
                for user, hashed in self.passwords:
                    user.password = hashed.result()
                    user.save(update_fields=["password"])
        self.result.lots = Lot.objects.count()
        return self.result

    def write_stock(self, stage: _Stages) -> None:
        with stage("warehouses and locations"):
            self.create_locations()
        with stage("products"):
            self.create_products()
        self.today = timezone.localdate()
        self.start = self.today - timedelta(days=self.days)
        with stage("opening stock"):
            self.opening_stock()
        with stage(f"{self.days} days of stock history"):
            for offset in range(self.days):
                self.simulate_day(offset)
        if self.sell is not None:
            with stage("suppliers, channels and sales orders"):
                self.sell_through_channels()

    def create_users(self, hasher: ThreadPoolExecutor) -> dict[str, object]:
        """Create the demo users; their password hashes arrive later (``self.passwords``)."""
        user_model = get_user_model()
        users = {}
        self.passwords = []
        for username, password, role, is_staff, is_superuser in DEMO_USERS:
            user = user_model.objects.filter(username=username).first()
            if user is None:
                user = user_model(username=username, is_staff=is_staff, is_superuser=is_superuser)
                user.set_unusable_password()
                user.save()
                self.passwords.append((user, hasher.submit(make_password, password)))
                if role:
                    user.groups.add(Group.objects.get(name=role))
                self.result.users.append(username)
            users[username] = user
        return users

    def create_locations(self) -> None:
        self.warehouses = {}
        for code, name, address in WAREHOUSES:
            warehouse = Warehouse.objects.create(code=code, name=name, address=address)
            self.warehouses[code] = {
                "warehouse": warehouse,
                "bins": [],
                "receiving": self._location(warehouse, None, "RCV", "Receiving dock", "receiving"),
                "shipping": self._location(warehouse, None, "SHP", "Shipping dock", "shipping"),
                "quarantine": self._location(warehouse, None, "QUA", "Quarantine", "quarantine"),
            }
            for zone_code in ZONES:
                zone = self._location(warehouse, None, zone_code, f"Zone {zone_code}", "storage")
                for aisle_code in AISLES:
                    aisle = self._location(warehouse, zone, aisle_code, "", "storage")
                    for bin_code in BINS:
                        self.warehouses[code]["bins"].append(
                            self._location(warehouse, aisle, bin_code, "", "storage")
                        )
        self.result.warehouses = len(self.warehouses)

    def _location(self, warehouse, parent, code, name, kind) -> Location:
        barcode = f"{parent.barcode if parent else warehouse.code}-{code}"
        location = Location(
            warehouse=warehouse, parent=parent, code=code, name=name, barcode=barcode, kind=kind
        )
        location.save()
        self.result.locations += 1
        return location

    def create_products(self) -> None:
        rng = self.rng
        catalog, self.result.source = pick_catalog(rng, self.product_count)
        dropship_count = max(1, round(self.product_count / 20))
        dropship = set(range(len(catalog) - dropship_count, len(catalog)))
        self.items = []
        for index, item in enumerate(catalog):
            roll = rng.random()
            if index in dropship:
                tracking = Product.Tracking.NONE
            elif roll < 0.12 or index % 10 == 3:
                tracking = Product.Tracking.LOT_EXPIRY
            elif roll < 0.2:
                tracking = Product.Tracking.LOT
            else:
                tracking = Product.Tracking.NONE
            product = Product(
                sku=item.sku,
                name=item.name,
                sell_price=item.price,
                tracking=tracking,
                fulfilment=Product.Fulfilment.DROPSHIP
                if index in dropship
                else Product.Fulfilment.STOCKED,
                gtin=gtin_for(rng, index) if rng.random() < 0.7 else None,
            )
            product.save()
            if index in dropship:
                continue
            home = "MAIN" if rng.random() < 0.7 else "EAST"
            other = "EAST" if home == "MAIN" else "MAIN"
            self.items.append(
                {
                    "product": product,
                    "demand": item.demand,
                    "average": max(statistics.mean(item.demand), 0.3),
                    "cost": (item.price * Decimal(rng.uniform(0.35, 0.6))).quantize(CENTS),
                    "home": home,
                    # The last bin of each warehouse holds the odd lots (see opening_stock).
                    "bin": rng.choice(self.warehouses[home]["bins"][:-1]),
                    "overflow": rng.choice(self.warehouses[other]["bins"])
                    if rng.random() < 0.3 and not product.is_lot_tracked
                    else None,
                    "shelf_life": rng.choice([20, 35, 60, 120, 240]),
                    "pending": [],  # receipts waiting in the receiving dock
                    "ordered": 0,  # units sold since the last shipment
                }
            )
        self.result.products = len(catalog)

    # --- ledger calls that keep the in-memory mirror of on-hand stock ---------------

    def add(self, item, location, lot, units: int) -> None:
        self.on_hand[(item["product"].pk, location.pk)][lot.pk if lot else None] += units

    def units(self, item, location, lot=None) -> int:
        return self.on_hand[(item["product"].pk, location.pk)][lot.pk if lot else None]

    def receive(self, item, location, quantity, cost, day, *, expires_on=None, hour=8, code=None):
        product = item["product"]
        lot_code = None
        if product.is_lot_tracked:
            lot_code = code or f"L{day:%y%m%d}"
            if product.tracking == Product.Tracking.LOT_EXPIRY and expires_on is None:
                expires_on = day + timedelta(days=item["shelf_life"])
            if product.tracking == Product.Tracking.LOT:
                expires_on = None
        else:
            expires_on = None
        move = ledger.receive(
            product=product,
            location=location,
            quantity=quantity,
            unit_cost=cost,
            lot_code=lot_code,
            expires_on=expires_on,
            user=self.users["clerk"],
            reference=f"PO-{day:%y%m%d}-{product.pk}",
            at=self.at(day, hour),
        )
        if move.lot_id:
            self.lots[move.lot_id] = move.lot
        self.add(item, location, move.lot, quantity)
        self.result.moves += 1
        return move.lot

    def transfer(self, item, source, target, lot, quantity, day, *, hour=9, reason=""):
        ledger.transfer(
            product=item["product"],
            from_location=source,
            to_location=target,
            lot=lot,
            quantity=quantity,
            user=self.users["clerk"],
            reason=reason,
            at=self.at(day, hour),
        )
        self.add(item, source, lot, -quantity)
        self.add(item, target, lot, quantity)
        self.result.moves += 1

    def stock_in(self, item, location) -> list[tuple[Lot | None, int]]:
        """Return [(lot, units)] of the item in ``location``, earliest expiry first."""
        found = [
            (self.lots.get(lot_id), units)
            for lot_id, units in self.on_hand[(item["product"].pk, location.pk)].items()
            if units > 0
        ]
        return sorted(found, key=lambda pair: _lot_order(pair[0]))

    # --- the story ----------------------------------------------------------------

    def opening_stock(self) -> None:
        rng = self.rng
        day = self.start
        for item in self.items:
            quantity = max(5, round(item["average"] * rng.uniform(8, 30)))
            first = quantity // 2 or 1
            # Two layers at different costs: FIFO and average cost differ from day one.
            self.receive(
                item, item["bin"], first, item["cost"] * Decimal("0.95"), day, code="OPEN1"
            )
            self.receive(
                item,
                item["bin"],
                quantity - first or 1,
                item["cost"] * Decimal("1.05"),
                day,
                code="OPEN2",
                expires_on=day + timedelta(days=item["shelf_life"] * 2),
            )
            if item["overflow"] is not None:
                self.receive(item, item["overflow"], quantity, item["cost"], day)
        # A few lots that expired already and a few that expire soon, kept apart from picking.
        perishable = [i for i in self.items if i["product"].requires_expiry]
        for n in range(7 if perishable else 0):
            item = perishable[n % len(perishable)]
            overflow = self.warehouses[item["home"]]["bins"][-1]
            if n < 3:
                expires_on = self.today - timedelta(days=3 + 5 * n)
            else:
                expires_on = self.today + timedelta(days=7 * (n - 2))
            self.receive(
                item,
                overflow,
                rng.randint(4, 12),
                item["cost"],
                day,
                code=f"OLD{n}",
                expires_on=expires_on,
                hour=10,
            )

    def simulate_day(self, offset: int) -> None:
        day = self.start + timedelta(days=offset)
        self.put_away(day)
        self.ship_demand(offset, day)
        self.reorder(offset, day)
        if offset % 7 == 3:
            self.damage(day)
        if offset % 14 == 6:
            self.count_bins(day)
            self.quarantine_expired(day)

    def put_away(self, day: date) -> None:
        """Morning: put away yesterday's receipts."""
        for item in self.items:
            receiving = self.warehouses[item["home"]]["receiving"]
            for lot, quantity in item.pop("pending", []):
                self.transfer(item, receiving, item["bin"], lot, quantity, day, hour=8)
            item["pending"] = []

    def ship_demand(self, offset: int, day: date) -> None:
        """Day: ship what the real order lines sold on the matching trading day.

        Before the last two weeks, a week's orders leave in one shipment per product:
        the same units and costs in a third of the ledger calls, which keeps the seed quick.
        """
        dispatch = offset >= self.days - DAILY_SHIPPING_DAYS or offset % 7 == 6
        for item in self.items:
            item["ordered"] += item["demand"][offset % len(item["demand"])]
            if not dispatch or item["ordered"] <= 0:
                continue
            wanted, item["ordered"] = item["ordered"], 0
            for lot, units in self.stock_in(item, item["bin"]):
                if wanted <= 0:
                    break
                if lot is not None and lot.is_expired(day):
                    continue
                quantity = min(units, wanted)
                ledger.ship(
                    product=item["product"],
                    location=item["bin"],
                    lot=lot,
                    quantity=quantity,
                    user=self.users["clerk"],
                    reference=f"SO-{day:%y%m%d}-{item['product'].pk}",
                    at=self.at(day, 10),
                )
                self.add(item, item["bin"], lot, -quantity)
                self.result.moves += 1
                wanted -= quantity

    def reorder(self, offset: int, day: date) -> None:
        """Afternoon: reorder what runs low; new cost drifts up over the period."""
        drift = Decimal(1 + 0.15 * offset / max(self.days, 1))
        for item in self.items:
            free = sum(
                units
                for lot, units in self.stock_in(item, item["bin"])
                if lot is None or not lot.is_expired(day)
            )
            if free >= item["average"] * 7:
                continue
            if item["overflow"] is not None and self.units(item, item["overflow"]):
                units = self.units(item, item["overflow"])
                self.transfer(
                    item,
                    item["overflow"],
                    item["bin"],
                    None,
                    min(units, 20),
                    day,
                    hour=14,
                    reason="Replenish from the other warehouse",
                )
                continue
            quantity = max(6, round(item["average"] * self.rng.uniform(30, 45)))
            cost = (item["cost"] * drift * Decimal(self.rng.uniform(0.95, 1.05))).quantize(
                Decimal("0.0001"), ROUND_HALF_UP
            )
            receiving = self.warehouses[item["home"]]["receiving"]
            lot = self.receive(item, receiving, quantity, cost, day, hour=15)
            item["pending"] = [(lot, quantity)]

    def damage(self, day: date) -> None:
        """Evening, weekly: a damaged unit now and then."""
        for item in self.rng.sample(self.items, min(2, len(self.items))):
            stock = self.stock_in(item, item["bin"])
            if stock:
                lot, units = stock[0]
                damaged = min(units, self.rng.randint(1, 3))
                ledger.adjust(
                    product=item["product"],
                    location=item["bin"],
                    lot=lot,
                    quantity=-damaged,
                    reason="Damaged in handling",
                    user=self.users["manager"],
                    at=self.at(day, 17),
                )
                self.add(item, item["bin"], lot, -damaged)
                self.result.moves += 1

    def count_bins(self, day: date) -> None:
        """Evening, fortnightly: cycle counts that find a unit or two more or less."""
        for item in self.rng.sample(self.items, min(4, len(self.items))):
            for lot, units in self.stock_in(item, item["bin"])[:1]:
                counted = max(0, units + self.rng.choice([-2, -1, 1, 2]))
                if ledger.count(
                    product=item["product"],
                    location=item["bin"],
                    lot=lot,
                    counted=counted,
                    user=self.users["manager"],
                    at=self.at(day, 18),
                ):
                    self.result.moves += 1
                self.add(item, item["bin"], lot, counted - units)

    def quarantine_expired(self, day: date) -> None:
        """Evening, fortnightly: expired lots leave the bins for quarantine."""
        for item in self.items:
            for lot, units in self.stock_in(item, item["bin"]):
                if lot is not None and lot.is_expired(day):
                    quarantine = self.warehouses[item["home"]]["quarantine"]
                    self.transfer(
                        item, item["bin"], quarantine, lot, units, day, hour=19, reason="Expired"
                    )

    def sell_through_channels(self) -> None:
        """Suppliers, channels and today's sales orders (they commit stock through allocation)."""
        counts = self.sell(
            self.rng,
            warehouses={code: wh["warehouse"] for code, wh in self.warehouses.items()},
            items=self.items,
            user=self.users["manager"],
        )
        self.result.sales_orders = counts["orders"]
        self.result.reservations = ReservationEntry.objects.filter(
            kind=ReservationEntry.Kind.RESERVE
        ).count()


def rng_seconds(rng: random.Random) -> int:
    return rng.randint(5, 90)


def _lot_order(lot: Lot | None) -> tuple:
    if lot is None:
        return (date.min, "")
    return (lot.expires_on or date.max, lot.received_on, lot.code)


def analyze() -> None:
    """Give the query planner fresh statistics after a bulk load (SQLite needs them)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA optimize")
        elif connection.vendor == "postgresql":
            cursor.execute("ANALYZE")


def seed_demo(
    *,
    seed: int = 20101201,
    products: int = 200,
    days: int = 90,
    progress: Progress | None = None,
    sell: Callable | None = None,
) -> SeedResult | None:
    """Load the demo data unless it is there already (then return None).

    ``progress`` is called after each stage with its name and duration. ``sell(rng, *,
    warehouses, items, user)`` seeds suppliers, channels and sales orders on the stock
    written (``orders.demo.seed_sales``); without it there are none.
    """
    if already_seeded():
        return None
    with transaction.atomic():
        result = Seeder(seed=seed, products=products, days=days, sell=sell).run(progress)
    with _Stages(progress)("query planner statistics (ANALYZE)"):
        analyze()
    return result
