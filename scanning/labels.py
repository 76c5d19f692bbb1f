"""Barcode labels as PDF: what each label says, and drawing it at a label printer's size.

A label is built from a location, a product or a lot (``location_label``,
``product_label``, ``lot_label``) and drawn by ``render_pdf`` at one of ``SIZES``:
one label per page for label printers, or a grid of labels on an A4 sheet.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from io import BytesIO

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.code128 import Code128
from reportlab.graphics.barcode.eanbc import Ean13BarcodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from stdnum import ean

# The GS1 group separator a scanner sends for FNC1 after a variable-length field,
# and reportlab's way of writing FNC1 into a Code 128 symbol.
GS = "\x1d"
FNC1 = "\xf1"

CODE128 = "code128"
EAN13 = "ean13"
GS1_128 = "gs1_128"

# AI 10 (lot) holds at most 20 characters of GS1's character set 82.
GS1_LOT = re.compile(r"^[A-Za-z0-9!\"%&'()*+,\-./:;<=>?_]{1,20}$")
QUIET_MODULES = 10
# Bars narrower than 7.5 mil (reportlab's default and the usual scanner minimum) are
# refused; wider than 0.5 mm wastes the label.
MIN_BAR_WIDTH = 0.0075 * 25.4 * mm
MAX_BAR_WIDTH = 0.5 * mm
FONT = "Helvetica"
BOLD = "Helvetica-Bold"


class LabelError(ValueError):
    """A label that cannot be drawn, with a sentence saying why."""


@dataclass(frozen=True)
class Symbol:
    """The barcode on a label: its symbology and the data it carries.

    For GS1-128 ``data`` is the element string as a scanner reports it, with a
    group separator after a variable-length field that another field follows.
    """

    kind: str
    data: str


@dataclass(frozen=True)
class Label:
    symbol: Symbol
    title: str
    lines: tuple[str, ...] = ()
    caption: str = ""


@dataclass(frozen=True)
class LabelSize:
    """A label of ``width`` × ``height`` points; ``columns`` × ``rows`` of them on a sheet."""

    name: str
    width: float
    height: float
    page: tuple[float, float] | None = None
    columns: int = 1
    rows: int = 1

    @property
    def page_size(self) -> tuple[float, float]:
        return self.page or (self.width, self.height)

    @property
    def per_page(self) -> int:
        return self.columns * self.rows


A4 = (210 * mm, 297 * mm)
SIZES = {
    "50x25": LabelSize("50x25", 50 * mm, 25 * mm),
    "100x50": LabelSize("100x50", 100 * mm, 50 * mm),
    # The common A4 sheet of 24 labels, 70 × 37 mm, 3 across and 8 down.
    "a4": LabelSize("a4", 70 * mm, 37 * mm, page=A4, columns=3, rows=8),
}


def label_size(name: str) -> LabelSize:
    """Return the label size called ``name``, or raise LabelError naming the sizes there are."""
    try:
        return SIZES[name]
    except KeyError:
        known = ", ".join(SIZES)
        raise LabelError(f"There is no label size “{name}”: use one of {known}.") from None


def ean13_of(gtin: str | None) -> str | None:
    """Return the EAN-13 of a stored 14-digit GTIN that has one (a leading 0), else None."""
    if gtin and len(gtin) == 14 and gtin.startswith("0"):
        return gtin[1:]
    if gtin and len(gtin) == 13:
        return gtin
    return None


def gs1_element_string(*, gtin: str, lot: str, expires_on: date | None = None) -> str:
    """Return the GS1 element string (01) GTIN-14, (10) lot and (17) expiry when known."""
    data = f"01{gtin.zfill(14)}10{lot}"
    if expires_on is not None:
        # The lot has no fixed length: a separator ends it before the next field.
        data += f"{GS}17{expires_on:%y%m%d}"
    return data


def gs1_human_readable(*, gtin: str, lot: str, expires_on: date | None = None) -> str:
    """Return the bracketed line printed under a GS1-128 symbol."""
    text = f"(01){gtin.zfill(14)}(10){lot}"
    if expires_on is not None:
        text += f"(17){expires_on:%y%m%d}"
    return text


def location_label(location) -> Label:
    """Return the label of a location: Code 128 of its barcode, its name and path."""
    title = location.name or location.code
    return Label(
        symbol=Symbol(CODE128, location.barcode),
        title=title,
        lines=(location.path,),
        caption=location.barcode,
    )


def money(amount: Decimal, currency: str) -> str:
    return f"{currency} {amount:.2f}"


def product_label(product, *, currency: str) -> Label:
    """Return a product's label: EAN-13 of its GTIN when it has one, else Code 128 of its SKU."""
    ean = ean13_of(product.gtin)
    price = money(product.sell_price, currency)
    if ean is not None:
        return Label(Symbol(EAN13, ean), title=product.name, lines=(product.sku, price))
    return Label(
        Symbol(CODE128, product.sku), title=product.name, lines=(price,), caption=product.sku
    )


def lot_label(lot) -> Label:
    """Return a lot's label: GS1-128 of GTIN, lot and expiry, or Code 128 of the lot code.

    A GS1 label needs the product's GTIN and a lot code GS1 can carry (at most 20
    characters of its set); without them the label holds the lot code alone and says so.
    """
    product = lot.product
    expiry = f"EXP {lot.expires_on:%Y-%m-%d}" if lot.expires_on else "no expiry"
    lines = (f"{product.sku} · LOT {lot.code}", expiry)
    if product.gtin and GS1_LOT.match(lot.code):
        fields = {"gtin": product.gtin, "lot": lot.code, "expires_on": lot.expires_on}
        return Label(
            Symbol(GS1_128, gs1_element_string(**fields)),
            title=product.name,
            lines=lines,
            caption=gs1_human_readable(**fields),
        )
    why = "no GTIN" if not product.gtin else "lot code not GS1"
    return Label(
        Symbol(CODE128, lot.code),
        title=product.name,
        lines=(*lines, f"Not GS1 ({why}): lot code only"),
        caption=lot.code,
    )


def render_pdf(labels: Sequence[Label], size: LabelSize, *, title: str = "Labels") -> bytes:
    """Draw ``labels`` at ``size``: one per page, or sheets of a grid; return the PDF."""
    if not labels:
        raise LabelError("There are no labels to print.")
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=size.page_size, pageCompression=1)
    canvas.setTitle(title)
    canvas.setCreator("Stockroom")
    page_width, page_height = size.page_size
    left = (page_width - size.columns * size.width) / 2
    top = page_height - (page_height - size.rows * size.height) / 2
    for index, label in enumerate(labels):
        slot = index % size.per_page
        if index and slot == 0:
            canvas.showPage()
        column, row = slot % size.columns, slot // size.columns
        x = left + column * size.width
        y = top - (row + 1) * size.height
        draw_label(canvas, label, x, y, size.width, size.height)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float


def draw_label(canvas: Canvas, label: Label, x: float, y: float, width: float, height: float):
    """Draw one label inside the box at (``x``, ``y``): text on top, the symbol below."""
    pad = min(width, height) * 0.07
    inner = Box(x + pad, y + pad, width - 2 * pad, height - 2 * pad)
    unit = height / (25 * mm)  # text grows with the label
    title_size, line_size = min(7.5 * unit, 14), min(6 * unit, 10)
    cursor = inner.y + inner.height - title_size
    canvas.setFont(BOLD, title_size)
    canvas.drawString(inner.x, cursor, fit(label.title, BOLD, title_size, inner.width))
    lines = label.lines
    if height < 30 * mm and len(lines) > 1:
        lines = (" · ".join(lines),)  # a small label has room for one line under the title
    canvas.setFont(FONT, line_size)
    for line in lines:
        cursor -= line_size * 1.2
        canvas.drawString(inner.x, cursor, fit(line, FONT, line_size, inner.width))
    caption_size = line_size if label.caption else 0
    bottom = inner.y + caption_size * 1.2
    symbol_box = Box(inner.x, bottom, inner.width, cursor - line_size * 0.5 - bottom)
    if label.symbol.kind == EAN13:
        draw_ean13(canvas, label.symbol.data, symbol_box, line_size)
    else:
        full_width = Box(x, symbol_box.y, width, symbol_box.height)
        draw_code128(canvas, label.symbol, full_width, pad=pad, name=label.caption)
    if label.caption:
        # The code in plain text must stay whole: shrink it rather than cut it.
        size = min(
            caption_size,
            caption_size * inner.width / stringWidth(label.caption, FONT, caption_size),
        )
        canvas.setFont(FONT, size)
        canvas.drawCentredString(
            inner.x + inner.width / 2, inner.y + caption_size * 0.2, label.caption
        )


def fit(text: str, font: str, size: float, width: float) -> str:
    """Shorten ``text`` with an ellipsis until it fits ``width`` points."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def code128_value(symbol: Symbol) -> str:
    """Return the string reportlab encodes: GS1-128 starts with FNC1, and FNC1 ends a field."""
    if symbol.kind == GS1_128:
        return FNC1 + symbol.data.replace(GS, FNC1)
    return symbol.data


def draw_code128(canvas: Canvas, symbol: Symbol, box: Box, *, pad: float, name: str) -> None:
    """Draw a Code 128 symbol as wide as the label allows, keeping its quiet zones on it.

    The box is the label's full width; refuse a symbol whose bars would come out
    narrower than ``MIN_BAR_WIDTH``.
    """
    value = code128_value(symbol)
    if any(ord(char) > 127 and char != FNC1 for char in value):
        raise LabelError(f"“{symbol.data}” has characters a Code 128 barcode cannot hold.")
    modules = Code128(value, barWidth=1, quiet=0).width
    bar_width = min(
        box.width / (modules + 2 * QUIET_MODULES), (box.width - 2 * pad) / modules, MAX_BAR_WIDTH
    )
    if bar_width < MIN_BAR_WIDTH:
        needed = (modules + 2 * QUIET_MODULES) * MIN_BAR_WIDTH / mm
        raise LabelError(
            f"The barcode “{name}” needs a label {needed:.1f} mm wide to be "
            f"readable, wider than {box.width / mm:.0f} mm: choose a larger label size."
        )
    barcode = Code128(value, barWidth=bar_width, barHeight=box.height, quiet=0)
    barcode.drawOn(canvas, box.x + (box.width - barcode.width) / 2, box.y)


def draw_ean13(canvas: Canvas, digits: str, box: Box, font_size: float) -> None:
    """Draw an EAN-13 symbol (its digits under the bars) as wide as the box allows."""
    if len(digits) != 13 or not ean.is_valid(digits):
        raise LabelError(f"“{digits}” is not a valid EAN-13: the check digit is wrong.")
    widget = Ean13BarcodeWidget(digits[:12], fontSize=font_size, barHeight=box.height)
    widget.barWidth = min(box.width / (widget.width / widget.barWidth), 0.5 * mm)
    drawing = Drawing(widget.width, box.height)
    drawing.add(widget)
    renderPDF.draw(drawing, canvas, box.x + (box.width - widget.width) / 2, box.y)
