"""The strategy advisor's rules: which policy suits a product in a warehouse, and why.

One row per plan line (product × warehouse), because a policy is set per product ×
warehouse. The strategy is decided twice from the same stored facts, and the two must
agree (the tests check it on every rule and conflict):

* ``strategy_expression()`` — the decision as one SQL ``CASE`` over a run's lines, which
  ``store_advice`` writes into ``PlanLine.advice`` when the run is written, so the page
  filters, paginates and counts 80,000 lines with index ranges;
* ``recommend(facts)`` — the same decision in Python for the rows of one page, with its
  reasons in words and the warnings that do not change the strategy.

Precedence (the first rule that applies decides the strategy):

1. a dropship product stays **dropship** (the seller never stocks it);
2. a new product — less than ``NEW_PRODUCT_DAYS`` days of demand history — gets a
   **manual buffer** (too little history to size safety stock; wins over volatility and
   over the slow-mover rule, which both need history);
3. a slow mover (d̄ < ``SLOW_DAILY`` units/day) with a low margin (below ``LOW_MARGIN`` of
   the sell price) or a high holding cost (holding a unit until it sells costs at least
   ``HOLDING_SHARE_OF_MARGIN`` of its margin) becomes a **dropship** candidate — only when a
   dropship supplier offers it;
4. volatile demand (pattern erratic or lumpy) → **safety stock**;
5. steady demand (pattern smooth or intermittent: the size of nonzero demands varies
   little, CV² ≤ 0.49 in the classifier) with a reliable supplier → **JIT**; an unreliable
   supplier (σL/L̄ above ``STOCKROOM_JIT_MAX_LEAD_TIME_CV`` or late share above
   ``STOCKROOM_JIT_MAX_LATE_SHARE``) or none vetoes JIT → **safety stock**, naming the
   supplier;
6. no demand recorded at all → **manual buffer**; anything else → **safety stock**.

Warnings added to whatever was chosen: a perishable product (lot + expiry) is picked FEFO
and its cover (order-up-to level in days of demand) must stay shorter than its shelf life;
purchase prices that move between receipts (CV above ``PRICE_CV``) make FIFO profit read
inflated (rising prices) or deflated (falling), with the FIFO-vs-average margin gap; a
dropship supplier that ships late or short leaves the seller little control.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import batched

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Cast

from inventory.models import Product
from orders.models import SupplierProduct
from planning.models import PlanLine, PlanRun, Policy

NEW_PRODUCT_DAYS = 30  # a third of the default 90-day history window
SLOW_DAILY = 0.2  # fewer than ~6 units a month
LOW_MARGIN = 0.25  # margin under 25 % of the sell price
HOLDING_SHARE_OF_MARGIN = 0.5  # holding a unit until it sells eats half its margin
MAX_COVER_DAYS = 3650  # a unit that never sells is held ten years, not forever
PRICE_CV = 0.15  # receipt unit costs varying more than this move FIFO profit
DROPSHIP_MAX_SHORT = 0.05  # a dropship supplier shipping short more than 5 % of units
VOLATILE = ("erratic", "lumpy")
STEADY = ("smooth", "intermittent")
Kind = Policy.Kind


def jit_limits() -> tuple[float, float]:
    """σL/L̄ and late share above which a supplier is unreliable for JIT (the plan's settings)."""
    return (
        float(getattr(settings, "STOCKROOM_JIT_MAX_LEAD_TIME_CV", 0.25)),
        float(getattr(settings, "STOCKROOM_JIT_MAX_LATE_SHARE", 0.20)),
    )


def holding_rate() -> float:
    return float(getattr(settings, "STOCKROOM_HOLDING_COST_RATE", 0.25))


@dataclass
class Facts:
    """What the rules read about one product in one warehouse (a plan line and a little more)."""

    dropship_product: bool
    history_days: int
    pattern: str
    forecast_daily: float
    on_hand: int
    unit_cost: Decimal | None
    sell_price: Decimal | None
    has_dropship_source: bool
    supplier: str | None  # code of the plan line's supplier
    lead_time_days: float = 0.0
    sd_lead_time_days: float = 0.0
    late_share: float = 0.0
    perishable: bool = False
    shelf_life_days: int | None = None  # shortest received_on → expires_on of its lots
    cover_days: float | None = None  # order-up-to level in days of demand
    price_cv: float | None = None  # CV of its receipts' unit costs
    fifo_gap: Decimal | None = None  # FIFO COGS − COGS at average cost (negative: inflated)
    dropship_supplier: str | None = None
    dropship_late_share: float = 0.0
    dropship_short_share: float = 0.0


@dataclass
class Advice:
    strategy: str
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fefo: bool = False

    @property
    def label(self) -> str:
        return Kind(self.strategy).label


def margin(facts: Facts) -> Decimal | None:
    if facts.unit_cost is None or not facts.sell_price:
        return None
    return facts.sell_price - facts.unit_cost


def slow_and_costly(facts: Facts) -> str | None:
    """Why a slow mover is not worth stocking (low margin or high holding cost), or None."""
    if facts.forecast_daily >= SLOW_DAILY or facts.unit_cost is None:
        return None
    gain = margin(facts)
    if gain is None:
        return None
    if gain < Decimal(str(LOW_MARGIN)) * facts.sell_price:
        share = float(gain / facts.sell_price)
        return f"its margin is low ({share:.0%} of the sell price)"
    daily = max(facts.forecast_daily, 0.0)
    cover = MAX_COVER_DAYS if daily == 0 else min(facts.on_hand / daily, MAX_COVER_DAYS)
    holding = float(facts.unit_cost) * holding_rate() * cover / 365
    if holding >= HOLDING_SHARE_OF_MARGIN * float(gain):
        return (
            f"holding a unit until it sells costs {holding:.2f}, "
            f"at least {HOLDING_SHARE_OF_MARGIN:.0%} of its margin ({float(gain):.2f})"
        )
    return None


def supplier_problems(facts: Facts) -> list[str]:
    """Why the supplier cannot be relied on for JIT (empty when it can)."""
    max_cv, max_late = jit_limits()
    problems = []
    if facts.lead_time_days > 0 and facts.sd_lead_time_days / facts.lead_time_days > max_cv:
        cv = facts.sd_lead_time_days / facts.lead_time_days
        problems.append(f"its lead time varies (σL/L̄ = {cv:.2f}, above {max_cv:.2f})")
    if facts.late_share > max_late:
        problems.append(f"it is late on {facts.late_share:.0%} of receipts (above {max_late:.0%})")
    return problems


def choose(facts: Facts) -> tuple[str, list[str]]:
    """The strategy by the documented precedence, with the reasons that decided it."""
    if facts.dropship_product:
        return Kind.DROPSHIP, ["A dropship product: the supplier ships it, so it stays dropship."]
    if facts.history_days < NEW_PRODUCT_DAYS:
        return Kind.MANUAL, [
            f"New product: only {facts.history_days} days of demand history "
            f"(fewer than {NEW_PRODUCT_DAYS}), too little to size safety stock; keep a manual "
            "buffer until there is more."
        ]
    costly = slow_and_costly(facts)
    if costly and facts.has_dropship_source:
        return Kind.DROPSHIP, [
            f"Slow mover (d̄ = {facts.forecast_daily:.2f}/day) and {costly}: a dropship supplier "
            "offers it, so stop stocking it."
        ]
    if facts.pattern in VOLATILE:
        return Kind.SAFETY_STOCK, [
            f"Demand is {facts.pattern}: it varies too much to order only what is asked; "
            "keep safety stock."
        ]
    if facts.pattern in STEADY:
        return steady(facts)
    if facts.pattern in ("", "none"):
        return Kind.MANUAL, ["No demand recorded: keep a manual buffer (or none)."]
    return Kind.SAFETY_STOCK, ["Safety stock, the default."]


def steady(facts: Facts) -> tuple[str, list[str]]:
    demand = f"Demand is steady ({facts.pattern})"
    if facts.supplier is None:
        return Kind.SAFETY_STOCK, [f"{demand}, but no supplier offers it: not JIT, safety stock."]
    problems = supplier_problems(facts)
    if problems:
        return Kind.SAFETY_STOCK, [
            f"{demand}, but supplier {facts.supplier} is unreliable: {' and '.join(problems)}. "
            "Not JIT: keep safety stock."
        ]
    return Kind.JIT, [
        f"{demand} and supplier {facts.supplier} delivers reliably: order just in time."
    ]


def recommend(facts: Facts) -> Advice:
    """The strategy, its reasons, and the warnings that hold whatever the strategy."""
    strategy, reasons = choose(facts)
    advice = Advice(strategy, reasons)
    if facts.perishable:
        advice.fefo = True
        advice.warnings.append(perishable_warning(facts))
    if facts.price_cv is not None and facts.price_cv > PRICE_CV:
        advice.warnings.append(price_warning(facts))
    if facts.dropship_supplier and strategy == Kind.DROPSHIP:
        late, short = facts.dropship_late_share, facts.dropship_short_share
        _, max_late = jit_limits()
        if late > max_late or short > DROPSHIP_MAX_SHORT:
            advice.warnings.append(
                f"Dropship supplier {facts.dropship_supplier} ships late ({late:.0%}) or short "
                f"({short:.0%} of units): the seller has little control over these deliveries."
            )
    return advice


def perishable_warning(facts: Facts) -> str:
    text = "Perishable (lot and expiry): pick FEFO, earliest expiry first"
    if facts.shelf_life_days is None:
        return f"{text}; no lot with an expiry received yet, so no shelf life to keep under."
    text += f"; keep cover shorter than its shelf life of {facts.shelf_life_days} days"
    if facts.cover_days is not None and facts.cover_days >= facts.shelf_life_days:
        return f"{text} — now {facts.cover_days:.0f} days: order less, more often."
    if facts.cover_days is not None:
        return f"{text} (now {facts.cover_days:.0f} days)."
    return f"{text}."


def price_warning(facts: Facts) -> str:
    gap = facts.fifo_gap or Decimal(0)
    if gap < 0:
        direction = "inflated (prices are rising: FIFO sells the older, cheaper units first)"
    elif gap > 0:
        direction = "deflated (prices are falling: FIFO sells the older, dearer units first)"
    else:
        direction = "off from the average cost"
    return (
        f"Purchase prices move between receipts (CV {facts.price_cv:.0%}): FIFO profit reads "
        f"{direction}; FIFO margin − average-cost margin = {-gap:.2f} over what was sold."
    )


# --- the same decision in SQL, over PlanLine rows ------------------------------------------


def _float(name: str):
    return Cast(name, FloatField())


def strategy_expression() -> dict:
    """The aliases the ``CASE`` of ``annotate_strategy`` reads (floats on both databases)."""
    max_cv, max_late = jit_limits()
    sell = _float("product__sell_price")
    cost = _float("unit_cost")
    # holding = cost × rate × min(on_hand / d̄, MAX_COVER) / 365, compared with the margin.
    held_days = Case(
        When(
            Q(forecast_daily__gt=0) & Q(on_hand__lt=F("forecast_daily") * MAX_COVER_DAYS),
            then=ExpressionWrapper(
                Cast("on_hand", FloatField()) / F("forecast_daily"), output_field=FloatField()
            ),
        ),
        default=Value(float(MAX_COVER_DAYS)),
        output_field=FloatField(),
    )
    return {
        "advice_sell": sell,
        "advice_gain": ExpressionWrapper(sell - cost, output_field=FloatField()),
        "advice_holding": ExpressionWrapper(
            cost * Value(holding_rate()) * held_days / Value(365.0), output_field=FloatField()
        ),
        "advice_dropship_source": Exists(
            SupplierProduct.objects.filter(
                product_id=OuterRef("product_id"),
                active=True,
                supplier__active=True,
                supplier__dropships=True,
            )
        ),
        "advice_unreliable": ExpressionWrapper(
            Q(lead_time_days__gt=0, sd_lead_time_days__gt=F("lead_time_days") * max_cv)
            | Q(late_share__gt=max_late),
            output_field=BooleanField(),
        ),
    }


def annotate_strategy(lines):
    """``lines`` annotated with ``advised``: the recommended strategy (``Policy.Kind`` value),
    worked out now from the line and the current catalogue and supplier offers."""
    lines = lines.alias(**strategy_expression())
    slow_costly = Q(forecast_daily__lt=SLOW_DAILY, unit_cost__isnull=False, advice_sell__gt=0) & (
        Q(advice_gain__lt=F("advice_sell") * LOW_MARGIN)
        | Q(advice_holding__gte=F("advice_gain") * HOLDING_SHARE_OF_MARGIN)
    )
    return lines.annotate(
        advised=Case(
            When(product__fulfilment=Product.Fulfilment.DROPSHIP, then=Value(Kind.DROPSHIP)),
            When(history_days__lt=NEW_PRODUCT_DAYS, then=Value(Kind.MANUAL)),
            When(slow_costly & Q(advice_dropship_source=True), then=Value(Kind.DROPSHIP)),
            When(pattern__in=VOLATILE, then=Value(Kind.SAFETY_STOCK)),
            When(
                Q(pattern__in=STEADY, supplier__isnull=False, advice_unreliable=False),
                then=Value(Kind.JIT),
            ),
            When(pattern__in=STEADY, then=Value(Kind.SAFETY_STOCK)),
            When(pattern__in=("", "none"), then=Value(Kind.MANUAL)),
            default=Value(Kind.SAFETY_STOCK),
            output_field=CharField(),
        )
    )


STORE_BATCH = 500  # ids per UPDATE: under SQLite's default limit of bound variables


def store_advice(run: PlanRun) -> int:
    """Write each line's advice into ``PlanLine.advice``; return the lines written.

    One grouped read of the ``CASE`` (the joins an UPDATE may not hold), then one UPDATE per
    strategy and batch of ids: ~1 s for 80,000 lines on SQLite.
    """
    ids = defaultdict(list)
    lines = annotate_strategy(PlanLine.objects.filter(run=run)).order_by()
    for pk, advised in lines.values_list("pk", "advised").iterator(chunk_size=5_000):
        ids[advised].append(pk)
    for advised, pks in ids.items():
        for batch in batched(pks, STORE_BATCH):
            PlanLine.objects.filter(pk__in=batch).update(advice=advised)
    return sum(len(pks) for pks in ids.values())
