"""Refusals of the planning services: a machine-readable code and a sentence for the buyer."""


class PlanningError(Exception):
    code = "planning_error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self):
        return self.message


class NothingSelected(PlanningError):
    code = "nothing_selected"


class StaleSelection(PlanningError):
    """A selected line is not in the latest plan, or was ordered already."""

    code = "stale_selection"


class NotOrderable(PlanningError):
    """A selected line has no supplier, or its product or supplier cannot be ordered now."""

    code = "not_orderable"


class OrderRefused(PlanningError):
    """Purchasing refused a line (its code is purchasing's); nothing was created."""

    code = "order_refused"
