"""The shared station framework: what a submission is, what a station answers, and the
one write path that keeps each ``scan_id`` to a single answer.

A station is a small class: ``handle(state, entry, user)`` reads one submission,
changes ``state`` (a JSON dict kept in ``StationSession``) and may post through the
ledger or the orders services; ``cancel(state)`` undoes the current step. The
framework (``submit``) keeps the old state when the answer is an error, so an error
never clears what was already scanned, and stores one ``ScanRecord`` per
``scan_id``: a double Enter or a retried request gets the first answer again and
posts nothing more.
"""

import copy
import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from common.columns import unstorable
from scanning.models import ScanRecord, StationSession
from scanning.resolve import Scan, resolve

# Digits only, at most four: a quantity typed on the numpad, not a code.
NUMBER = re.compile(r"^\d{1,4}$")
DONE = "DONE"
LOG_LENGTH = 10


@dataclass(frozen=True)
class Entry:
    """One submission: a typed number, the DONE command, a cancel, or a resolved scan."""

    code: str
    number: int | None = None
    scan: Scan | None = None
    cancel: bool = False
    done: bool = False
    command: str = ""
    refusal: str = ""


@dataclass(frozen=True)
class Answer:
    ok: bool
    message: str


class Refused(Exception):
    """A station's refusal that must undo what the station already did in this submission.

    A station raises it (instead of returning ``refuse``) around a service call joined to
    the submission's transaction without a savepoint of its own (``joined()``): leaving
    the atomic block by an exception rolls back everything the submission wrote, then
    ``submit`` records the refusal in a block of its own.
    """


def ok(message: str) -> Answer:
    return Answer(True, message)


def refuse(message: str) -> Answer:
    return Answer(False, message)


class Station:
    """What every station has; subclasses set the attributes and write ``handle``."""

    kind = ""
    title = ""
    permission = ""
    template = ""
    help = ""

    def handle(self, state: dict, entry: Entry, user) -> Answer:
        raise NotImplementedError

    def cancel(self, state: dict) -> Answer:
        """Escape: forget the current step (subclasses drop less when they can)."""
        state.clear()
        return ok("Cancelled. Start again.")

    def prompt(self, state: dict) -> str:
        raise NotImplementedError

    def wants_text(self, state: dict) -> bool:
        """Say whether the next entry may be free text (a new lot code, a date)."""
        return False

    def view(self, state: dict) -> dict:
        """Extra context for the station's step template (default: none)."""
        return {}


def read_entry(code: str, *, action: str = "") -> Entry:
    """Make one submission into an Entry: 0 queries for numbers and commands, else <= 2."""
    code = (code or "").strip("\r\n")
    if action == "cancel":
        return Entry(code="", cancel=True)
    if action == "blind":
        return Entry(code="BLIND", command="blind")
    if action == "done" or code.strip().upper() == DONE:
        return Entry(code=DONE, done=True)
    if NUMBER.match(code.strip()):
        return Entry(code=code.strip(), number=int(code.strip()))
    problem = unstorable(code)
    if problem:
        # Kept in the scan log with the bad characters shown as replacement marks.
        shown = code.replace("\x00", "\ufffd").encode("utf-8", "replace").decode()
        return Entry(code=shown, refusal=f"“{shown}” is not a code: {problem}")
    return Entry(code=code, scan=resolve(code))


def session_for(user, station: Station) -> StationSession:
    session, _ = StationSession.objects.get_or_create(user=user, station=station.kind)
    return session


def submit(
    *, session: StationSession, station: Station, code: str, scan_id: str, user, action: str = ""
) -> ScanRecord:
    """Answer one submission once per ``scan_id``; return the stored answer.

    Everything the station posts, the new state and the record are written in one
    transaction. The unique (session, scan_id) constraint is the only duplicate check:
    a repeated ``scan_id`` (a double Enter, a retried request, or a race won elsewhere)
    fails the record's insert, which rolls back whatever this attempt did, and the
    stored answer is returned instead — no lookup on the usual path.
    """
    scan_id = (scan_id or "")[:64]
    entry = read_entry(code, action=action)
    state = copy.deepcopy(session.state)
    try:
        try:
            with transaction.atomic():
                answer = answer_entry(station, state, entry, user)
                if answer.ok and state != session.state:
                    session.state = state
                    session.save(update_fields=["state", "updated_at"])
                return record(session, scan_id, entry, answer)
        except Refused as refusal:
            # Everything the station did is rolled back; the state is the old one.
            with transaction.atomic():
                return record(session, scan_id, entry, refuse(str(refusal)))
    except IntegrityError:
        stored = ScanRecord.objects.filter(session=session, scan_id=scan_id).first()
        if stored is None:
            raise
        session.refresh_from_db()
        stored.replayed = True
        return stored


def record(session: StationSession, scan_id: str, entry: Entry, answer: Answer) -> ScanRecord:
    return ScanRecord.objects.create(
        session=session,
        scan_id=scan_id,
        code=entry.code[:200],
        ok=answer.ok,
        message=answer.message,
    )


def answer_entry(station: Station, state: dict, entry: Entry, user) -> Answer:
    if entry.cancel:
        return station.cancel(state)
    if entry.refusal:
        return refuse(entry.refusal)
    if entry.scan is not None and not entry.scan.resolved and not station.wants_text(state):
        return refuse(entry.scan.message)
    return station.handle(state, entry, user)


def recent_scans(session: StationSession) -> list[ScanRecord]:
    return list(session.scans.order_by("-id")[:LOG_LENGTH])
