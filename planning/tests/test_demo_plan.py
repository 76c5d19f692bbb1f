"""The demo's planning step (``seed_plan_demo``, run by ``make run`` after ``seed_demo``)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum

from inventory.models import StockMove
from planning.models import ImportedDemand, PlanLine, PlanRun, Policy

pytestmark = pytest.mark.django_db


def test_the_demo_gets_demand_policies_and_a_plan_with_every_kind_of_suggestion():
    call_command("seed_demo", "--products", "60", "--days", "60", stdout=StringIO())
    out = StringIO()
    call_command("seed_plan_demo", stdout=out)
    assert "Demo plan:" in out.getvalue()
    shipped = StockMove.objects.filter(kind="shipment").aggregate(units=Sum("quantity"))
    assert ImportedDemand.objects.aggregate(units=Sum("quantity")) == shipped
    run = PlanRun.objects.filter(status="done").latest("id")
    to_order = set(
        PlanLine.objects.filter(run=run, suggested_qty__gt=0).values_list("policy", flat=True)
    )
    assert {"safety_stock", "jit", "min_max", "manual"} <= to_order
    assert Policy.objects.filter(kind="jit").exists()
    again = StringIO()
    call_command("seed_plan_demo", stdout=again)
    assert "nothing changed" in again.getvalue()
