"""Demo sales data: suppliers, channels and a day of sales orders, all through the services.

Called by ``inventory.demo.Seeder`` after the stock history, so the orders allocate
from real balances: some are shipped, some being picked, some waiting for stock, one
cancelled, and dropship lines waiting as draft purchase orders to the supplier.
"""

import random
from decimal import Decimal

from inventory.models import Product
from orders.models import Channel, ChannelWarehouse, SalesOrder, Supplier, SupplierProduct
from orders.sales import errors
from orders.sales import services as sales

CUSTOMERS = [
    ("Ada Lovelace", "ada@example.com", "12 St James's Square\nLondon SW1Y 4JH"),
    ("Grace Hopper", "grace@example.com", "1 Navy Yard\nArlington, VA 22202"),
    ("Alan Turing", "alan@example.com", "Hollymeade, Adlington Road\nWilmslow SK9 2BN"),
    ("Katherine Johnson", "kj@example.com", "21 Langley Road\nHampton, VA 23681"),
    ("Tim Berners-Lee", "tbl@example.com", "32 Vassar Street\nCambridge, MA 02139"),
    ("Hedy Lamarr", "hedy@example.com", "Vienna Street 4\n1010 Wien"),
]
CHANNELS = [
    # code, name, kind, warehouses in priority order, buffer
    ("WEB", "Web store", Channel.Kind.WEB_STORE, ("MAIN", "EAST"), 0),
    ("MKT", "Marketplace", Channel.Kind.MARKETPLACE, ("EAST", "MAIN"), 2),
    ("POS", "Shop counter", Channel.Kind.POS, ("MAIN",), 0),
]


def seed_sales(rng: random.Random, *, warehouses: dict, items: list[dict], user) -> dict:
    """Create suppliers, channels and sales orders; return counts for the seed summary."""
    stocked = [item["product"] for item in items]
    dropship = list(Product.objects.filter(fulfilment=Product.Fulfilment.DROPSHIP).order_by("sku"))
    _suppliers(rng, items, dropship)
    channels = _channels(warehouses)
    counts = {"orders": 0, "shipped": 0, "backordered": 0}
    # Fast movers first: they are the ones customers order.
    popular = stocked[: max(6, len(stocked) // 3)]
    number = 0
    for channel in channels:
        for _ in range(6 if channel.code != "POS" else 3):
            number += 1
            lines = _order_lines(rng, popular, dropship, number)
            order = _place_order(channel, number, lines, user)
            if order is None:
                continue
            counts["orders"] += 1
            if order.status == SalesOrder.Status.ALLOCATED and number % 3 == 0:
                sales.ship_order(order=order, user=user)
                counts["shipped"] += 1
            elif order.status == SalesOrder.Status.ALLOCATED and number % 3 == 1:
                sales.start_picking(order=order, user=user)
    if popular:
        counts["orders"] += _waiting_and_cancelled(channels, popular[-1], user)
    counts["backordered"] = SalesOrder.objects.filter(status=SalesOrder.Status.BACKORDERED).count()
    return counts


def _order_lines(rng: random.Random, popular: list, dropship: list, number: int) -> list[dict]:
    """One to three popular products, and a dropship product on every fifth order."""
    lines = [
        {
            "sku": product.sku,
            "quantity": rng.randint(1, 3),
            "unit_price": product.sell_price or Decimal("1.00"),
        }
        for product in rng.sample(popular, k=min(len(popular), rng.randint(1, 3)))
    ]
    if dropship and number % 5 == 0:
        product = dropship[number % len(dropship)]
        lines.append({"sku": product.sku, "quantity": 1, "unit_price": product.sell_price})
    return lines


def _place_order(channel: Channel, number: int, lines: list[dict], user) -> SalesOrder | None:
    name, email, address = CUSTOMERS[number % len(CUSTOMERS)]
    try:
        order, _ = sales.create_order(
            channel=channel,
            external_ref=f"{channel.code}-{1000 + number}",
            customer_name=name,
            customer_email=email,
            shipping_address=address,
            lines=lines,
            user=user,
        )
    except errors.SalesError:
        return None
    return order


def _waiting_and_cancelled(channels: list[Channel], product: Product, user) -> int:
    """One order larger than the stock (it waits for the next receipt) and a cancelled one."""
    sales.create_order(
        channel=channels[0],
        external_ref="WEB-BIG-1",
        customer_name="Wholesale Buyer Ltd",
        customer_email="buyer@example.com",
        shipping_address="Unit 4, Trade Park\nManchester M17 1SN",
        lines=[{"sku": product.sku, "quantity": 500, "unit_price": product.sell_price}],
        user=user,
    )
    cancelled, _ = sales.create_order(
        channel=channels[1],
        external_ref="MKT-CANCELLED-1",
        customer_name="Changed Mind",
        shipping_address="1 Nowhere Lane\nLeeds LS1 1AA",
        lines=[{"sku": product.sku, "quantity": 1, "unit_price": product.sell_price}],
        user=user,
    )
    sales.cancel_order(order=cancelled, user=user, reason="Customer changed their mind")
    return 2


def _suppliers(rng: random.Random, items: list[dict], dropship: list[Product]) -> None:
    wholesale = Supplier.objects.create(
        code="ACME",
        name="Acme Wholesale",
        email="orders@acme.example",
        default_lead_time_days=10,
    )
    SupplierProduct.objects.bulk_create(
        SupplierProduct(
            supplier=wholesale,
            product=item["product"],
            supplier_sku=f"AC-{item['product'].sku}",
            unit_cost=item["cost"],
            preferred=True,
            pack_size=rng.choice([1, 1, 6, 12]),
        )
        for item in items
    )
    if dropship:
        direct = Supplier.objects.create(
            code="DIRECT",
            name="Direct Furnishings",
            email="dropship@direct.example",
            default_lead_time_days=3,
            dropships=True,
        )
        SupplierProduct.objects.bulk_create(
            SupplierProduct(
                supplier=direct,
                product=product,
                supplier_sku=f"DF-{product.sku}",
                unit_cost=(product.sell_price * Decimal("0.55")).quantize(Decimal("0.01")),
                preferred=True,
                supplier_stock=rng.randint(0, 40),
            )
            for product in dropship
        )


def _channels(warehouses: dict) -> list[Channel]:
    channels = []
    for code, name, kind, order, buffer in CHANNELS:
        channel = Channel.objects.create(code=code, name=name, kind=kind, buffer=buffer)
        ChannelWarehouse.objects.bulk_create(
            ChannelWarehouse(channel=channel, warehouse=warehouses[wh], priority=priority)
            for priority, wh in enumerate(order, start=1)
            if wh in warehouses
        )
        channels.append(channel)
    return channels
