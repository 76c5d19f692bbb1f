"""Where the demo's products come from: the real UCI "Online Retail" order lines, or invented.

The UCI data (December 2010) gives names, prices and the shape of daily demand when
``../shared/data`` holds it; otherwise a long-tailed catalog is generated.
"""

import csv
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from stdnum import ean

UCI_DATA = Path(settings.BASE_DIR).parent / "shared" / "data" / "uci-online-retail-2010-12"
CENTS = Decimal("0.01")
_UCI_CODE = re.compile(r"^\d{5}[A-Z]{0,2}$")


@dataclass
class CatalogItem:
    sku: str
    name: str
    price: Decimal
    demand: list[int]  # units per trading day, a cycle the history repeats


def _title(text: str) -> str:
    words = " ".join(text.split()).title()
    return re.sub(r"(\d)(St|Nd|Rd|Th|Cm|Pc)\b", lambda m: m.group(1) + m.group(2).lower(), words)


def load_uci_catalog(folder: Path = UCI_DATA) -> list[CatalogItem]:
    """Return products from the real order lines, most ordered first (name, price, daily units)."""
    files = sorted(folder.glob("2010-12-*.csv"))
    names: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    prices: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    units: dict[str, list[int]] = defaultdict(lambda: [0] * len(files))
    lines: dict[str, int] = defaultdict(int)
    for day, path in enumerate(files):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                code = row["StockCode"]
                if not _UCI_CODE.match(code) or row["InvoiceNo"].startswith("C"):
                    continue
                quantity = int(row["Quantity"])
                description = row["Description"].strip()
                if quantity <= 0 or float(row["UnitPrice"]) <= 0 or len(description) < 4:
                    continue
                names[code][description] += 1
                prices[code][row["UnitPrice"]] += 1
                units[code][day] += quantity
                lines[code] += 1
    items = []
    for code in sorted(lines, key=lambda c: (-lines[c], c)):
        name = max(sorted(names[code]), key=lambda n: names[code][n])
        price = max(sorted(prices[code]), key=lambda p: prices[code][p])
        # The shop sold to wholesalers; a smaller seller sees a sixth of it (which also
        # keeps the history, and so the seed, small: single units round away).
        demand = [round(quantity / 6) for quantity in units[code]]
        items.append(CatalogItem(code, _title(name), Decimal(price).quantize(CENTS), demand))
    return items


_ADJECTIVES = "Red Blue Green Oak Linen Enamel Glass Copper Woollen Vintage Cotton Ceramic".split()
_NOUNS = "Mug Lantern Tray Candle Blanket Jar Basket Clock Frame Teapot Notebook Cushion".split()


def generate_catalog(rng: random.Random, count: int, days: int = 20) -> list[CatalogItem]:
    """Return ``count`` invented products with long-tailed demand, most sold first."""
    items = []
    for rank in range(1, count + 1):
        weight = 60 / rank**0.9
        demand = [
            int(rng.expovariate(1 / weight)) if rng.random() < min(1, 0.2 + weight / 20) else 0
            for _ in range(days)
        ]
        name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS).lower()} {rank}"
        price = Decimal(rng.uniform(0.8, 25)).quantize(CENTS)
        items.append(CatalogItem(f"GEN-{rank:04d}", name, price, demand))
    return items


def pick_catalog(rng: random.Random, count: int) -> tuple[list[CatalogItem], str]:
    if UCI_DATA.is_dir():
        ranked = load_uci_catalog()
        if len(ranked) >= count:
            fast = min(12, count // 4)
            tail = rng.sample(ranked[fast:], count - fast)
            return ranked[:fast] + tail, "UCI Online Retail order lines"
    return generate_catalog(rng, count), "generated"


def gtin_for(rng: random.Random, number: int) -> str:
    """Return a GTIN-13 in the GS1 in-store range (prefix 2x) with a valid check digit."""
    body = f"2{rng.randrange(10)}{number:05d}{rng.randrange(100000):05d}"
    return body + ean.calc_check_digit(body)
