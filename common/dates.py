"""The range of days the project accepts from people, files and commands.

Nothing a seller records happens before 2000 or more than ten years ahead; a date
past that range is a typo (``9999-12-31``, ``0202-05-01``) and, left alone, can
overflow date arithmetic (the valuation report adds a day to ``as_of``). Every date
input checks the same range and says it in the same words.
"""

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.deconstruct import deconstructible

EARLIEST_DAY = date(2000, 1, 1)
YEARS_AHEAD = 10


def latest_day() -> date:
    """Return the last day accepted: ten years after today."""
    today = timezone.localdate()
    try:
        return today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:  # 29 February
        return today.replace(year=today.year + YEARS_AHEAD, day=28) + timedelta(days=1)


def out_of_range(day: date, *, what: str = "The date") -> str | None:
    """Return why ``day`` is refused, or None when it lies in the accepted range."""
    latest = latest_day()
    if EARLIEST_DAY <= day <= latest:
        return None
    return (
        f"{what} {day.isoformat()} is out of range: give a day from "
        f"{EARLIEST_DAY.isoformat()} to {latest.isoformat()}."
    )


@deconstructible
class DayInRange:
    """A form/model validator: refuse a day outside ``EARLIEST_DAY`` … ``latest_day()``."""

    code = "date_out_of_range"

    def __call__(self, value) -> None:
        if isinstance(value, date):
            problem = out_of_range(value)
            if problem:
                raise ValidationError(problem, code=self.code)

    def __eq__(self, other) -> bool:
        return isinstance(other, DayInRange)

    def __hash__(self) -> int:
        return hash(self.code)


day_in_range = DayInRange()
