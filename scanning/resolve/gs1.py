"""Read a scanned string without the database: AIM prefix, separators, GS1 via biip, GTINs.

`read_code` turns any string into a `Reading`: the values a GS1 element string holds,
the 14-digit form of a plain GTIN, or the reason the code cannot be right.
"""

import calendar
import re
from dataclasses import dataclass
from datetime import date

from biip import ParseConfig, ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message
from django.utils import timezone
from stdnum import ean

GS = "\x1d"
MAX_LENGTH = 256
GTIN_LENGTHS = (8, 12, 13, 14)
# AIM symbology identifiers whose data is a GS1 element string: GS1-128, GS1 DataMatrix,
# GS1 QR, GS1 DataBar, GS1 DotCode. Others (]E0 EAN-13/UPC-A, ]E4 EAN-8, ]C0 Code 128)
# are stripped and the rest read as a plain code.
GS1_SYMBOLOGIES = frozenset({"C1", "d2", "Q3", "e0", "J1"})
AIM_PREFIX = re.compile(r"\][A-Za-z][0-9A-Za-z]")
# Without a symbology identifier, a string is GS1 when it starts with an SSCC or GTIN element.
GS1_START = re.compile(r"00\d{18}|0[12]\d{14}")
DATE_AIS = {
    "11": "production date",
    "13": "packaging date",
    "15": "best-before date",
    "16": "sell-by date",
    "17": "expiry date",
}
NUMBER_AIS = {"00": ("SSCC", 18), "01": ("GTIN", 14), "02": ("GTIN", 14)}
COUNT_AIS = ("37", "30")
# A date element run into a lot because the scanner sent no separator after AI 10.
SWALLOWED_DATE = re.compile(r"(1[1-7])(\d{2}(?:0[1-9]|1[0-2])(?:[0-2]\d|3[01]))$")
CONFIG = ParseConfig(separator_chars=[GS])


@dataclass(frozen=True, kw_only=True)
class Reading:
    """What a code says before the catalogue is asked.

    ``text`` is the code without its AIM prefix and surrounding blanks: the key for
    SKU, location, lot and order lookups. With ``tentative`` the ``error`` only stands
    when none of those lookups finds ``text``.
    """

    text: str
    gs1: bool = False
    gtin: str | None = None
    sscc: str | None = None
    lot_code: str | None = None
    expires_on: date | None = None
    best_before: date | None = None
    produced_on: date | None = None
    serial: str | None = None
    count: int | None = None
    error: str | None = None
    tentative: bool = False
    warning: str = ""


def read_code(code: str, *, separator: str = "|") -> Reading:
    """Read ``code`` as a GS1 element string, a GTIN or a plain code; never raise."""
    if not isinstance(code, str):
        return Reading(text="", error="A scan must be text.")
    text = code.strip()
    if not text:
        return Reading(text="", error="Nothing was scanned.")
    if len(text) > MAX_LENGTH:
        return Reading(
            text="", error=f"The code is {len(text)} characters long; no label is over 256."
        )
    symbology = None
    if AIM_PREFIX.match(text):
        symbology, text = text[1:3], text[3:].strip()
    refusal = unreadable(text)
    if refusal:
        return Reading(text="", error=refusal)
    if text.startswith("("):
        return read_bracketed(text)
    pieces = [piece for piece in split(text, separator) if piece]
    joined = GS.join(pieces)
    if symbology in GS1_SYMBOLOGIES or (GS in text and joined[:2].isdigit()):
        return read_element_string(joined, text=text)
    if text.isdigit() and len(text) in GTIN_LENGTHS:
        return read_gtin(text)
    if (len(pieces) > 1 and joined[:2].isdigit()) or GS1_START.match(joined):
        return read_element_string(joined, text=text, tentative=True)
    return Reading(text=text)


def unreadable(text: str) -> str | None:
    """Say why ``text`` cannot be any code, or return None."""
    if not text:
        return "Nothing but a symbology prefix was scanned."
    if any((ord(char) < 32 and char != GS) or ord(char) == 127 for char in text):
        return "The code holds control characters: check the scanner's keyboard setup."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "The code holds characters that are not text."
    return None


def split(text: str, separator: str) -> list[str]:
    """Split ``text`` at group separators, sent as GS or as the substitute ``separator``."""
    if separator:
        text = text.replace(separator, GS)
    return text.split(GS)


def read_gtin(digits: str) -> Reading:
    """Read an EAN-8, UPC-A, EAN-13 or GTIN-14, checking its check digit."""
    if ean.is_valid(digits):
        return Reading(text=digits, gtin=digits.zfill(14))
    return Reading(text=digits, error=wrong_check_digit("GTIN", digits), tentative=True)


def read_bracketed(text: str) -> Reading:
    """Read the human-readable form ``(01)…(10)…``."""
    try:
        message = GS1Message.parse_hri(text, config=CONFIG)
    except (ParseError, ValueError) as exc:
        return Reading(text=text, gs1=True, error=explain(str(exc), text))
    return from_elements(text, message.element_strings)


def read_element_string(joined: str, *, text: str, tentative: bool = False) -> Reading:
    """Parse a GS1 element string whose separators are all GS."""
    try:
        message = GS1Message.parse(joined, config=CONFIG)
    except (ParseError, ValueError) as exc:
        return Reading(text=text, gs1=True, error=explain(str(exc), joined), tentative=tentative)
    return from_elements(text, message.element_strings)


def from_elements(text: str, elements: list[GS1ElementString]) -> Reading:
    """Collect what the element strings say, refusing bad check digits and conflicts."""
    values: dict[str, GS1ElementString] = {}
    for element in elements:
        ai = element.ai.ai
        if ai in values and values[ai].value != element.value:
            return Reading(
                text=text,
                gs1=True,
                error=f"The code holds two different values for AI {ai}: "
                f"{values[ai].value} and {element.value}.",
            )
        values[ai] = element
        if not element.value:
            return Reading(text=text, gs1=True, error=malformed(ai, ""))
        if element.gtin_error or element.sscc_error:
            label = "SSCC" if ai == "00" else "GTIN"
            return Reading(text=text, gs1=True, error=wrong_check_digit(label, element.value))
    count_ai = next((ai for ai in COUNT_AIS if ai in values), None)
    count = int(values[count_ai].value) if count_ai else None
    if count == 0:
        return Reading(
            text=text, gs1=True, error=f"The count (AI {count_ai}) is 0: a scan is at least 1."
        )
    gtin = values.get("01") or values.get("02")
    lot = values.get("10")
    return Reading(
        text=text,
        gs1=True,
        gtin=gtin.value.zfill(14) if gtin else None,
        sscc=values["00"].value if "00" in values else None,
        lot_code=lot.value if lot else None,
        expires_on=values["17"].date if "17" in values else None,
        best_before=values["15"].date if "15" in values else None,
        produced_on=values["11"].date if "11" in values else None,
        serial=values["21"].value if "21" in values else None,
        count=count,
        warning=swallowed_date_warning(elements, values),
    )


def swallowed_date_warning(
    elements: list[GS1ElementString], values: dict[str, GS1ElementString]
) -> str:
    """Warn when the last element is a lot ending in what looks like a date element."""
    if not elements or elements[-1].ai.ai != "10":
        return ""
    lot = elements[-1].value
    match = SWALLOWED_DATE.search(lot)
    if not match or match[1] in values:
        return ""
    return (
        f"The lot {lot} ends in {match[0]}, which looks like {with_article(DATE_AIS[match[1]])} "
        f"(AI {match[1]}): if the label shows that date, the scanner did not send the "
        "separator after the lot."
    )


def with_article(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def wrong_check_digit(label: str, number: str) -> str:
    expected = ean.calc_check_digit(number[:-1])
    return f"The check digit of {label} {number} is wrong: it should be {expected}."


BIIP_NO_AI = re.compile(r"Failed to get GS1 Application Identifier from '(.*)'\.?$", re.S)
BIIP_DATE = re.compile(r"Failed to parse GS1 AI \((\d+)\) date/time from '(\d+)'")
BIIP_PATTERN = re.compile(r"Failed to match '(.*)' with GS1 AI \((\d+)\) pattern", re.S)


def explain(error: str, text: str) -> str:
    """Put a biip parse error into words a clerk can act on."""
    if match := BIIP_DATE.search(error):
        return impossible_date(match[1], match[2])
    if match := BIIP_PATTERN.search(error):
        return malformed(match[2], match[1][len(match[2]) :])
    if match := BIIP_NO_AI.search(error):
        rest = match[1]
        if rest == text:
            return f"“{shown(text)}” is not a GS1 element string."
        return f"Leftover data after the GS1 elements: “{shown(rest)}” is not one."
    return f"“{shown(text)}” is not a GS1 element string."


def malformed(ai: str, value: str) -> str:
    if ai in DATE_AIS:
        digits = value[:6]
        if len(digits) == 6 and digits.isdigit():
            return impossible_date(ai, digits)
        return f"The {DATE_AIS[ai]} (AI {ai}) needs six digits YYMMDD, got “{shown(value)}”."
    if ai in NUMBER_AIS:
        label, length = NUMBER_AIS[ai]
        return f"The {label} (AI {ai}) needs {length} digits, got “{shown(value)}”."
    description = GS1ApplicationIdentifier.extract(ai).description
    title = description[:1].lower() + description[1:]
    if not value:
        return f"The {title} (AI {ai}) is empty."
    return f"The {title} (AI {ai}) cannot be “{shown(value)}”."


def impossible_date(ai: str, digits: str) -> str:
    """Say why the YYMMDD ``digits`` of a date element are no date."""
    name = DATE_AIS.get(ai, "date")
    month, day = int(digits[2:4]), int(digits[4:6])
    head = f"The {name} (AI {ai}) {digits} is impossible"
    if not 1 <= month <= 12:
        return f"{head}: there is no month {month}."
    year = gs1_year(int(digits[:2]))
    days = calendar.monthrange(year, month)[1]
    return f"{head}: {calendar.month_name[month]} {year} has {days} days, not {day}."


def gs1_year(two_digits: int) -> int:
    """Return the full year of a GS1 YY: within 49 years back and 50 ahead of today."""
    century, now = divmod(timezone.localdate().year, 100)
    difference = two_digits - now
    if difference >= 51:
        century -= 1
    elif difference <= -50:
        century += 1
    return century * 100 + two_digits


def shown(text: str) -> str:
    """Show a code with its group separators visible."""
    return text.replace(GS, "<GS>")
