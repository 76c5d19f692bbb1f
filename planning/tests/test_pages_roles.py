"""Buyers and managers plan, clerks do not; the role sync gives them the planning permissions
on a fresh database, where the planning tables come after the roles' first migrations."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from inventory.roles import PLAN_BUYING, sync_roles

PLANNING = {name.split(".")[1] for name in PLAN_BUYING}


def codenames(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return set(
        group.permissions.filter(content_type__app_label="planning").values_list(
            "codename", flat=True
        )
    )


def test_buyer_and_manager_plan_and_clerk_does_not(db):
    assert {"view_planline", "view_policy", "change_policy", "add_policy"} <= PLANNING
    assert codenames("buyer") == PLANNING
    assert codenames("manager") == PLANNING
    assert codenames("clerk") == set()


@pytest.mark.django_db(transaction=True)
def test_the_sync_works_on_a_fresh_database():
    # Start from nothing: no permissions, no groups (as before any migration ran).
    Permission.objects.all().delete()
    Group.objects.all().delete()
    sync_roles(apps)
    assert codenames("buyer") == PLANNING
    assert codenames("manager") == PLANNING


@pytest.mark.django_db(transaction=True)
def test_migrating_planning_from_zero_gives_the_roles_their_permissions():
    call_command("migrate", "planning", "zero", verbosity=0)
    Permission.objects.filter(content_type__app_label="planning").delete()
    call_command("migrate", "planning", verbosity=0)
    assert codenames("buyer") == PLANNING
    assert codenames("manager") == PLANNING
