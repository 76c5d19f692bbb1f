"""A purchase order as the supplier gets it: an A4 PDF (reportlab) and a CSV file."""

import io
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import timezone
from reportlab.graphics.barcode import code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from common.csvfiles import SafeWriter
from orders.models import PurchaseOrder, SupplierProduct

CENTS = Decimal("0.01")
CSV_HEADER = ["supplier_sku", "sku", "name", "quantity", "unit_cost", "line_total"]


def money(value: Decimal) -> Decimal:
    """Round an amount to cents for display (internal costs keep six places)."""
    return Decimal(value).quantize(CENTS, ROUND_HALF_UP)


def unit_cost_text(value: Decimal) -> str:
    """Show a unit cost with at least two decimals and no trailing zeros beyond them."""
    value = Decimal(value)
    if value == value.quantize(CENTS):
        return str(value.quantize(CENTS))
    return format(value.normalize(), "f")


def _lines(order: PurchaseOrder) -> list[dict]:
    """Return the order's lines with product and supplier SKU, in one query."""
    lines = list(order.lines.select_related("product").order_by("id"))
    skus = dict(
        SupplierProduct.objects.filter(
            supplier_id=order.supplier_id, product_id__in=[line.product_id for line in lines]
        ).values_list("product_id", "supplier_sku")
    )
    return [
        {
            "line": line,
            "supplier_sku": skus.get(line.product_id, ""),
            "total": money(line.quantity_ordered * line.unit_cost),
        }
        for line in lines
    ]


def order_total(rows: list[dict]) -> Decimal:
    return sum((row["total"] for row in rows), Decimal("0.00"))


def order_csv(order: PurchaseOrder) -> str:
    """Return the order lines as CSV: supplier_sku,sku,name,quantity,unit_cost,line_total."""
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(CSV_HEADER)
    for row in _lines(order):
        line = row["line"]
        writer.writerow(
            [
                row["supplier_sku"],
                line.product.sku,
                line.product.name,
                line.quantity_ordered,
                unit_cost_text(line.unit_cost),
                str(row["total"]),
            ]
        )
    return out.getvalue()


def _para(text: str, style) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def order_pdf(order: PurchaseOrder) -> bytes:
    """Return the purchase order as an A4 PDF with a Code 128 barcode of its number."""
    currency = settings.STOCKROOM_CURRENCY
    styles = getSampleStyleSheet()
    normal = styles["Normal"]
    right = ParagraphStyle("right", parent=normal, alignment=2)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"Purchase order {order.number}",
        author="Stockroom",
        invariant=1,
    )
    story = [
        _pdf_header(order, doc.width, styles["Title"]),
        Spacer(1, 6 * mm),
        _pdf_parties(order, doc.width, normal, currency),
        Spacer(1, 8 * mm),
        _pdf_lines(_lines(order), doc.width, normal, currency),
    ]
    if order.notes:
        story += [Spacer(1, 6 * mm), _para(f"Notes: {order.notes}", normal)]
    story += [
        Spacer(1, 10 * mm),
        _para(f"Please quote {order.number} on the delivery note and invoice.", right),
    ]
    doc.build(story)
    return buffer.getvalue()


def _pdf_header(order: PurchaseOrder, width: float, title) -> Table:
    """The title beside a Code 128 barcode of the order number."""
    barcode = code128.Code128(order.number, barHeight=14 * mm, barWidth=0.35 * mm, humanReadable=1)
    header = Table(
        [[_para(f"Purchase order {order.number}", title), barcode]],
        colWidths=[width - 70 * mm, 70 * mm],
    )
    header.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                ("LEFTPADDING", (0, 0), (0, 0), 0),
            ]
        )
    )
    return header


def _pdf_parties(order: PurchaseOrder, width: float, normal, currency: str) -> Table:
    """Supplier, ship-to address and the order's date, expected delivery and currency."""
    supplier, warehouse = order.supplier, order.warehouse
    sent = order.sent_at or timezone.now()
    facts = [
        ["Date", timezone.localdate(sent).isoformat()],
        ["Expected delivery", order.expected_on.isoformat() if order.expected_on else "—"],
        ["Currency", currency],
    ]
    supplier_text = f"{supplier.name}\n{supplier.code}" + (
        f"\n{supplier.email}" if supplier.email else ""
    )
    ship_to_text = order.ship_to or (
        f"{warehouse.name} ({warehouse.code})"
        + (f"\n{warehouse.address}" if warehouse.address else "")
    )
    parties = Table(
        [
            [Paragraph("<b>Supplier</b>", normal), Paragraph("<b>Ship to</b>", normal), ""],
            [_para(supplier_text, normal), _para(ship_to_text, normal), Table(facts)],
        ],
        colWidths=[width * 0.34, width * 0.34, width * 0.32],
    )
    parties.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return parties


def _pdf_lines(rows: list[dict], width: float, normal, currency: str) -> Table:
    """The lines table, its header repeated on every page, with the order total below."""
    small = ParagraphStyle("small", parent=normal, fontSize=8, leading=10)
    data = [["Supplier SKU", "SKU", "Product", "Qty", f"Unit cost ({currency})", "Total"]]
    for row in rows:
        line = row["line"]
        name = line.product.name + (f"\n{line.note}" if line.note else "")
        data.append(
            [
                _para(row["supplier_sku"], small),
                _para(line.product.sku, small),
                _para(name, small),
                str(line.quantity_ordered),
                unit_cost_text(line.unit_cost),
                f"{row['total']:,.2f}",
            ]
        )
    total = order_total(rows)
    data.append(["", "", "", str(sum(r["line"].quantity_ordered for r in rows)), "Total", ""])
    data[-1][-1] = f"{currency} {total:,.2f}"
    widths = [28 * mm, 26 * mm, None, 14 * mm, 28 * mm, 28 * mm]
    widths[2] = width - sum(w for w in widths if w)
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 8),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
                ("ROWBACKGROUNDS", (0, 1), (-1, -2), [colors.white, colors.HexColor("#f2f2f2")]),
                ("ALIGN", (3, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table
