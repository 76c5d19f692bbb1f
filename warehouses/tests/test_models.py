"""Warehouses and the location tree: paths, subtrees and the rules for parents."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from warehouses.models import Location, Warehouse


def test_paths_and_depths(locations):
    assert locations["zone"].path == "WH1/A"
    assert locations["zone"].depth == 0
    assert locations["bin1"].path == "WH1/A/01"
    assert locations["bin1"].depth == 1
    assert str(locations["bin1"]) == "WH1-A-01"


def test_subtree_is_the_location_and_everything_below(warehouse, locations):
    deep = Location.objects.create(
        warehouse=warehouse, parent=locations["bin1"], code="TOP", barcode="WH1-A-01-TOP"
    )
    # A sibling whose code starts like the zone must not match the prefix.
    Location.objects.create(warehouse=warehouse, code="A_", barcode="WH1-A_")
    inside = set(Location.objects.subtree(locations["zone"]).values_list("barcode", flat=True))
    assert inside == {"WH1-A", "WH1-A-01", "WH1-A-02", "WH1-A-01-TOP"}
    assert list(Location.objects.subtree(deep)) == [deep]
    assert deep.depth == 2


def test_sellable_locations(locations):
    locations["bin2"].active = False
    locations["bin2"].save()
    sellable = set(Location.objects.sellable().values_list("barcode", flat=True))
    assert sellable == {"WH1-A", "WH1-A-01", "WH1-RCV"}
    assert locations["receiving"].is_sellable
    assert not locations["quarantine"].is_sellable
    assert not locations["shipping"].is_sellable
    assert not locations["bin2"].is_sellable


def test_renaming_or_moving_a_location_carries_its_subtree(warehouse, locations):
    zone = locations["zone"]
    zone.code = "Z"
    zone.save()
    assert Location.objects.get(pk=locations["bin1"].pk).path == "WH1/Z/01"
    bin2 = Location.objects.get(pk=locations["bin2"].pk)
    bin2.parent = locations["bin1"]
    bin2.save()
    assert (bin2.path, bin2.depth) == ("WH1/Z/01/02", 2)


def test_renaming_a_warehouse_renames_its_paths(warehouse, locations):
    warehouse.code = "MAIN"
    warehouse.save()
    assert Location.objects.get(pk=locations["bin1"].pk).path == "MAIN/A/01"
    assert Location.objects.get(pk=locations["shipping"].pk).path == "MAIN/SHP"


def test_saving_an_unchanged_location_does_not_resave_its_children(locations):
    zone, bin1 = locations["zone"], locations["bin1"]
    versions = bin1.history.count()
    zone.name = "Zone A"
    zone.save()
    assert bin1.history.count() == versions
    zone.code = "B"
    zone.save()
    assert bin1.history.count() == versions + 1


def test_a_location_cannot_be_its_own_ancestor(warehouse, locations):
    zone = locations["zone"]
    deep = Location.objects.create(
        warehouse=warehouse, parent=locations["bin1"], code="S", barcode="WH1-A-01-S"
    )
    for parent in (zone, locations["bin1"], deep):
        zone.parent = parent
        with pytest.raises(ValidationError) as caught:
            zone.full_clean()
        assert "inside itself" in caught.value.message_dict["parent"][0]
        with pytest.raises(ValidationError):
            zone.save()
    assert Location.objects.get(pk=zone.pk).parent_id is None


def test_a_parent_must_be_in_the_same_warehouse(locations):
    other = Warehouse.objects.create(code="WH2", name="Second")
    stray = Location(warehouse=other, parent=locations["zone"], code="X", barcode="WH2-X")
    with pytest.raises(ValidationError) as caught:
        stray.full_clean()
    assert "another warehouse" in caught.value.message_dict["parent"][0]
    with pytest.raises(ValidationError):
        stray.save()
    assert not Location.objects.filter(barcode="WH2-X").exists()


def test_codes_are_unique_within_a_parent_and_barcodes_everywhere(warehouse, locations):
    with pytest.raises(IntegrityError), transaction.atomic():
        Location.objects.create(
            warehouse=warehouse, parent=locations["zone"], code="01", barcode="OTHER"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Location.objects.create(warehouse=warehouse, code="A", barcode="OTHER-2")
    with pytest.raises(IntegrityError), transaction.atomic():
        Location.objects.create(warehouse=warehouse, code="NEW", barcode="WH1-A-01")
    other = Warehouse.objects.create(code="WH2", name="Second")
    Location.objects.create(warehouse=other, code="A", barcode="WH2-A")


def test_code_validation(warehouse):
    with pytest.raises(ValidationError) as caught:
        Location(warehouse=warehouse, code="a b", barcode="ok").full_clean()
    assert "code" in caught.value.message_dict
