"""What every status-change record of an order holds."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class StatusEvent(models.Model):
    """A status change of an order: who, when, from → to.

    Subclasses add ``order`` and the ``from_status``/``to_status`` fields with their
    order's status choices.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        abstract = True
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.order}: {self.from_status or '–'} → {self.to_status}"
