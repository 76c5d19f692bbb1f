"""What a column can hold, judged the same way on SQLite and PostgreSQL.

SQLite stores a NUL character, a lone surrogate and any 64-bit integer; PostgreSQL
refuses all three (a traceback, or ``integer out of range``). So the project checks
text and whole numbers against what PostgreSQL holds, on every database:

- ``unstorable(text)`` says why text cannot be stored (NUL, lone surrogates); the API
  schemas, the CSV imports and ``storable_text`` (a Django validator) all use it;
- ``apply_column_limits`` (run once by ``common.apps``) gives every model's text
  columns ``storable_text`` and every integer column the PostgreSQL range, so model
  validation (admin, model forms, import-export) refuses the same values everywhere;
  date columns get ``common.dates.day_in_range`` the same way.
  It changes the validators in memory only: no migration, nothing in the schema.
"""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.utils.deconstruct import deconstructible

from common.dates import day_in_range

# PostgreSQL's ranges (Django's defaults); SQLite would accept 64-bit values.
INTEGER_RANGES = BaseDatabaseOperations.integer_field_ranges


def unstorable(value: str) -> str | None:
    """Return why ``value`` cannot be stored in a text column, or None if it can."""
    if "\x00" in value:
        return "Text must not contain NUL characters."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Text must be valid Unicode (no lone surrogates)."
    return None


@deconstructible
class StorableText:
    """A validator: refuse text no database column can hold (NUL, lone surrogates)."""

    code = "unstorable_text"

    def __call__(self, value) -> None:
        problem = isinstance(value, str) and unstorable(value)
        if problem:
            raise ValidationError(problem, code=self.code)

    def __eq__(self, other) -> bool:
        return isinstance(other, StorableText)

    def __hash__(self) -> int:
        return hash(self.code)


storable_text = StorableText()


def _limits_for(field: models.Field) -> list:
    if isinstance(field, models.CharField | models.TextField):
        return [storable_text]
    if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField):
        return [day_in_range]
    bounds = INTEGER_RANGES.get(field.get_internal_type())
    if bounds is None or isinstance(field, models.AutoField | models.ForeignKey):
        return []
    low, high = bounds
    return [MinValueValidator(low), MaxValueValidator(high)]


def apply_column_limits(all_models) -> None:
    """Add each column's limits to its validators (in memory, once; no duplicates)."""
    for model in all_models:
        for field in model._meta.concrete_fields:
            extra = [v for v in _limits_for(field) if v not in field.validators]
            if extra:
                # ``validators`` is a cached property built from the field's own list
                # and the connection's ranges; extend the built list, not ``_validators``
                # (which ``deconstruct`` would write into migrations).
                field.__dict__["validators"] = [*field.validators, *extra]
