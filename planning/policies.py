"""Writes of a product's replenishment policy per warehouse (history kept by simple-history)."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from inventory.models import Product
from planning.errors import PlanningError
from planning.models import Policy
from warehouses.models import Warehouse

POLICY_FIELDS = (
    "kind",
    "service_level",
    "review_period_days",
    "history_days",
    "minimum",
    "maximum",
    "manual_buffer",
)


class InvalidPolicy(PlanningError):
    code = "invalid_policy"


def policy_for(product: Product, warehouse: Warehouse) -> Policy:
    """The stored policy, or an unsaved one with the defaults."""
    found = Policy.objects.filter(product=product, warehouse=warehouse).first()
    return found or Policy(product=product, warehouse=warehouse)


@transaction.atomic
def save_policy(*, product: Product, warehouse: Warehouse, user, values: dict) -> Policy:
    """Set the policy of ``product`` in ``warehouse`` to ``values``; refuse an invalid one."""
    policy = Policy.objects.select_for_update().filter(
        product=product, warehouse=warehouse
    ).first() or Policy(product=product, warehouse=warehouse)
    for name in POLICY_FIELDS:
        if name in values:
            setattr(policy, name, values[name])
    policy.updated_by = user
    try:
        policy.full_clean(validate_unique=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidPolicy(" ".join(messages), field=field) from None
    # simple-history's documented way to name who changed it outside a request.
    policy._history_user = user
    policy.save()
    return policy


def set_service_level(
    *, product: Product, warehouse: Warehouse, user, service_level: Decimal
) -> Policy:
    """Make the policy a safety stock at ``service_level`` % (a point of the cost curve)."""
    return save_policy(
        product=product,
        warehouse=warehouse,
        user=user,
        values={"kind": Policy.Kind.SAFETY_STOCK, "service_level": service_level},
    )
