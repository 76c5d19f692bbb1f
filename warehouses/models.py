"""Warehouses and the tree of locations inside each one."""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords

code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
    "Use letters, digits, dot, dash or underscore, starting with a letter or digit.",
)

PATH_SEPARATOR = "/"


class Warehouse(models.Model):
    code = models.CharField(max_length=16, unique=True, validators=[code_validator])
    name = models.CharField(max_length=120)
    address = models.TextField(blank=True)
    active = models.BooleanField(default=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} · {self.name}"

    def save(self, *args, **kwargs):
        old_code = None
        if self.pk is not None:
            old_code = type(self).objects.filter(pk=self.pk).values_list("code", flat=True).first()
        super().save(*args, **kwargs)
        if old_code is not None and old_code != self.code:
            # Location paths start with the warehouse code.
            for location in self.locations.filter(parent__isnull=True):
                location.warehouse = self
                location.save()

    def get_absolute_url(self):
        return reverse("warehouse_detail", args=[self.code])


# Stock in an active location of Location.SELLABLE_KINDS may be sold (and so promised to
# orders and channels); shipping docks and quarantine cages hold units nobody may sell.
# One rule in two forms kept side by side: a Python test and a Q for querysets.


def is_sellable_place(kind: str, active: bool) -> bool:
    """Say whether stock in a location of ``kind`` (active or not) may be sold."""
    return active and kind in Location.SELLABLE_KINDS


def sellable_place_q(prefix: str = "") -> models.Q:
    """Match rows whose location (reached through ``prefix``) is one stock may be sold from."""
    return models.Q(**{f"{prefix}kind__in": Location.SELLABLE_KINDS, f"{prefix}active": True})


class LocationQuerySet(models.QuerySet):
    def sellable(self):
        """Return the locations stock may be sold from."""
        return self.filter(sellable_place_q())

    def subtree(self, location):
        """Return the location and every location below it."""
        return self.filter(in_subtree(location))


def in_subtree(location, prefix: str = "") -> models.Q:
    """Match rows whose location (reached through ``prefix``) is ``location`` or below it.

    Used on a joined location (``prefix="location__"``) rather than as an IN
    subquery, it lets the database walk locations in path order and stop early.
    """
    # Both sides on the location's own path: an OR across two tables (the row's
    # location_id or the joined path) left PostgreSQL no index to use.
    return models.Q(**{f"{prefix}path": location.path}) | models.Q(
        **{f"{prefix}path__startswith": location.path + PATH_SEPARATOR}
    )


class Location(models.Model):
    class Kind(models.TextChoices):
        STORAGE = "storage", "Storage"
        RECEIVING = "receiving", "Receiving"
        SHIPPING = "shipping", "Shipping"
        QUARANTINE = "quarantine", "Quarantine"

    SELLABLE_KINDS = (Kind.STORAGE, Kind.RECEIVING)

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="locations")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    code = models.CharField(
        max_length=32,
        validators=[code_validator],
        help_text="Short name within its parent, e.g. A, 03 or BIN-7.",
    )
    name = models.CharField(max_length=120, blank=True)
    barcode = models.CharField(max_length=64, unique=True, validators=[code_validator])
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STORAGE)
    active = models.BooleanField(default=True)
    # Materialised path "WH/ZONE/AISLE/BIN": subtree filters and pick-path sorting
    # are then a single indexed prefix match.
    path = models.CharField(max_length=255, editable=False, db_index=True)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)

    objects = LocationQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(
                fields=["warehouse", "parent", "code"], name="location_code_unique_in_parent"
            ),
            models.UniqueConstraint(
                fields=["warehouse", "code"],
                condition=models.Q(parent__isnull=True),
                name="location_code_unique_at_top",
            ),
        ]

    def __str__(self):
        # People type a location as its barcode: show it the same way everywhere.
        return self.barcode or self.code

    def save(self, *args, **kwargs):
        self.check_parent()
        old = None
        if self.pk is not None:
            old = type(self).objects.filter(pk=self.pk).values_list("path", "warehouse_id").first()
        self.path, self.depth = self.compute_path()
        super().save(*args, **kwargs)
        if old is not None and old != (self.path, self.warehouse_id):
            # Renaming or moving a location carries its subtree along.
            for child in self.children.all():
                child.parent = self
                child.warehouse_id = self.warehouse_id
                child.save()

    def get_absolute_url(self):
        return reverse("location_detail", args=[self.barcode])

    def clean(self):
        super().clean()
        self.check_parent()

    def check_parent(self) -> None:
        """Refuse a parent in another warehouse, or one inside this location."""
        if self.parent_id is None:
            return
        if self.parent.warehouse_id != self.warehouse_id:
            raise ValidationError(
                {"parent": f"The parent location {self.parent} is in another warehouse."}
            )
        if self.pk is None:
            return
        ancestor_id = self.parent_id
        seen = set()
        while ancestor_id is not None and ancestor_id not in seen:
            if ancestor_id == self.pk:
                raise ValidationError(
                    {"parent": f"{self.code} cannot be placed inside itself or its own subtree."}
                )
            seen.add(ancestor_id)
            ancestor_id = (
                type(self)
                .objects.filter(pk=ancestor_id)
                .values_list("parent_id", flat=True)
                .first()
            )

    def compute_path(self) -> tuple[str, int]:
        if self.parent_id is None:
            return f"{self.warehouse.code}{PATH_SEPARATOR}{self.code}", 0
        # The parent as stored, not a possibly stale copy held in memory.
        stored = type(self).objects.filter(pk=self.parent_id).values_list("path", "depth").first()
        path, depth = stored or (self.parent.path, self.parent.depth)
        return f"{path}{PATH_SEPARATOR}{self.code}", depth + 1

    @property
    def is_sellable(self) -> bool:
        return is_sellable_place(self.kind, self.active)
