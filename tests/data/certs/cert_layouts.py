"""Draw the certificate layouts restoration technicians receive, from a spec row (see cert_specs.py).

Everything is deterministic (fixed seeds, fixed reportlab invariant mode) so the same spec gives
the same bytes; the expected values live in the spec, never read back from the extractor.
"""
from __future__ import annotations

import io
import random

import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageFilter
from reportlab import rl_config
from reportlab.lib.pagesizes import landscape, letter
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

rl_config.invariant = 1  # no timestamps or random IDs in the output

# an item: (text, font, size, y from the top, align) — align is "c" (centre), "l", "r" or "r2" (right column)
Item = tuple[str, str, float, float, str]


def iicrc_course(s: dict) -> list[Item]:
    return [
        (s.get("provider", "Restoration Training Institute"), "Helvetica-Bold", 20, 70, "c"),
        ("CERTIFICATE OF COMPLETION", "Times-Bold", 30, 125, "c"),
        ("This is to certify that", "Times-Italic", 16, 175, "c"),
        (s["name_text"], "Times-BoldItalic", 34, 225, "c"),
        ("has successfully completed the IICRC-approved course", "Times-Roman", 15, 265, "c"),
        *_title_lines(s, 300, 20),
        (f"Course #: {s.get('approval', 'C-1001')}    Certificate ID: {s.get('cert_id', '88213')}", "Helvetica", 11,
         380, "c"),
        (s["hours_text"], "Helvetica-Bold", 14, 410, "c"),
        (s["date_text"], "Helvetica", 13, 440, "c"),
        ("Instructor: Daniel R. Whitaker", "Helvetica", 10, 520, "l"),
        (f"Student score: {s.get('score', 94)}%   Class size: 18", "Helvetica", 9, 540, "r"),
    ]


def school_class(s: dict) -> list[Item]:
    return [
        (s.get("provider", "Northwest Cleaning & Restoration School"), "Helvetica-Bold", 22, 80, "c"),
        ("Certificate of Achievement", "Helvetica", 26, 130, "c"),
        ("is hereby awarded to", "Helvetica-Oblique", 14, 180, "c"),
        (s["name_text"], "Helvetica-Bold", 30, 225, "c"),
        ("for successfully completing", "Helvetica", 14, 265, "c"),
        *_title_lines(s, 300, 22),
        (s["date_text"], "Helvetica", 13, 390, "c"),
        (s["hours_text"], "Helvetica", 13, 412, "c"),
        (f"IICRC Approval #: {s['approval']}" if s.get("approval") else "Class #: 3", "Helvetica", 10, 470, "c"),
        ("Room 104 - 22 students - Tuition $1,295", "Helvetica", 9, 540, "l"),
    ]


def conference(s: dict) -> list[Item]:
    return [
        (s.get("provider", "Restoration Industry Association"), "Helvetica-Bold", 18, 60, "c"),
        ("CERTIFICATE OF ATTENDANCE", "Helvetica-Bold", 28, 110, "c"),
        ("Presented to", "Times-Italic", 15, 160, "c"),
        (s["name_text"], "Times-Bold", 32, 205, "c"),
        ("for attending", "Times-Roman", 14, 245, "c"),
        *_title_lines(s, 280, 20),
        (s["date_text"], "Times-Roman", 14, 340, "c"),
        ("Sessions attended: 6   Booth #412", "Helvetica", 10, 380, "c"),
        (s["hours_text"], "Helvetica-Bold", 13, 405, "c"),
        ("Registration ID 2026-55817", "Helvetica", 8, 560, "r"),
    ]


def booth_visit(s: dict) -> list[Item]:
    return [
        ("IICRC", "Helvetica-Bold", 36, 70, "c"),
        ("Booth Visit Certificate", "Helvetica", 24, 115, "c"),
        ("This certifies that", "Helvetica", 14, 165, "c"),
        (s["name_text"], "Helvetica-Bold", 28, 205, "c"),
        ("visited the IICRC booth and completed", "Helvetica", 14, 245, "c"),
        *_title_lines(s, 280, 18),
        (s["date_text"], "Helvetica", 13, 330, "c"),
        (s["hours_text"], "Helvetica-Bold", 14, 360, "c"),
        ("Scan code 7731  -  Hall B, Booth 1207", "Helvetica", 9, 540, "c"),
    ]


def manufacturer(s: dict) -> list[Item]:
    return [
        (s.get("provider", "Dri-Eaz Products"), "Helvetica-Bold", 24, 70, "l"),
        ("Product Training Certificate", "Helvetica", 20, 110, "l"),
        (f"Congratulations, {s['name_text']}", "Helvetica-Bold", 24, 180, "l"),
        ("You have completed the manufacturer training", "Helvetica", 13, 215, "l"),
        *[(t, "Helvetica-Bold", 18, 250 + 24 * i, "l") for i, t in enumerate(s["title_lines"])],
        (s["hours_text"], "Helvetica", 13, 330, "l"),
        (s["date_text"], "Helvetica", 13, 352, "l"),
        ("Serial no. of demo unit: 40331-77", "Helvetica", 9, 520, "l"),
        ("Training Manager", "Helvetica", 10, 540, "r"),
    ]


def lms_record(s: dict) -> list[Item]:
    return [
        (s.get("provider", "RestorationEDU Online"), "Helvetica-Bold", 18, 60, "l"),
        ("Course Completion Record", "Helvetica-Bold", 22, 100, "l"),
        (f"Learner Name: {s['name_text']}", "Helvetica", 13, 150, "l"),
        ("Learner ID: 100482733", "Helvetica", 11, 172, "l"),
        (f"Course Title: {' '.join(s['title_lines'])}", "Helvetica", 13, 200, "l"),
        (f"Course ID: {s.get('approval', 'RE-204')}", "Helvetica", 11, 222, "l"),
        (s["date_text"], "Helvetica", 13, 250, "l"),
        ("Final exam score: 88 / 100    Modules completed: 6 of 6", "Helvetica", 11, 275, "l"),
        (s["hours_text"], "Helvetica-Bold", 13, 300, "l"),
        ("Price paid: $149.00", "Helvetica", 9, 520, "l"),
    ]


def transcript(s: dict) -> list[Item]:
    rows = [("WRT-110 Water Damage Restoration", "2025-03-14", "1.9 CEU"),
            ("ASD-210 Applied Structural Drying", "2025-06-20", "2.1 CEU"),
            ("AMRT-301 Applied Microbial Remediation", "2025-11-02", "2.8 CEU")]
    items: list[Item] = [
        (s.get("provider", "Restoration Academy"), "Helvetica-Bold", 18, 60, "l"),
        ("Continuing Education Transcript", "Helvetica-Bold", 22, 95, "l"),
        (f"Name: {s['name_text']}", "Helvetica", 13, 140, "l"),
        ("Course    Completed    Credit", "Helvetica-Bold", 11, 180, "l"),
    ]
    items += [(f"{a}    {b}    {c}", "Helvetica", 11, 205 + 22 * i, "l") for i, (a, b, c) in enumerate(rows)]
    items.append(("Total: 6.8 CEU", "Helvetica-Bold", 12, 290, "l"))
    return items


def outline_page(s: dict) -> list[Item]:
    modules = ["Module 1: Psychrometry basics - 2 hours", "Module 2: Moisture mapping - 3 hours",
               "Module 3: Drying equipment - 4 hours", "Module 4: Documentation - 1.5 hours"]
    return [("Course Outline", "Helvetica-Bold", 22, 70, "l"), ("Learning objectives and agenda", "Helvetica", 13, 100, "l"),
            *[(m, "Helvetica", 12, 140 + 24 * i, "l") for i, m in enumerate(modules)],
            ("Day 1 schedule: 8:00 - 17:00, lunch 12:00", "Helvetica", 11, 260, "l")]


def invoice(s: dict) -> list[Item]:
    return [("INVOICE", "Helvetica-Bold", 28, 60, "l"), ("Invoice #: 20931    Date: 03/14/2026", "Helvetica", 11, 95, "l"),
            ("Bill To: Blue Ridge Restoration LLC", "Helvetica", 11, 120, "l"),
            ("Qty   Description                         Unit Price   Amount", "Helvetica-Bold", 11, 160, "l"),
            ("2     WRT course registration (19 CECs)   $650.00      $1,300.00", "Helvetica", 11, 182, "l"),
            ("Subtotal $1,300.00   Sales tax $78.00", "Helvetica", 11, 220, "l"),
            ("Total Due: $1,378.00   Payment terms: Net 30", "Helvetica-Bold", 12, 245, "l")]


def flyer(s: dict) -> list[Item]:
    return [("Applied Structural Drying (ASD)", "Helvetica-Bold", 26, 80, "c"), ("April 8-10, 2026 - Denver, CO", "Helvetica", 16, 120, "c"),
            ("Earn 21 CECs!  Early bird pricing ends March 1", "Helvetica", 14, 160, "c"),
            ("Register now at example-training.com - seats are limited", "Helvetica", 13, 190, "c"),
            ("Call to register: 555-0134", "Helvetica", 12, 215, "c")]


def form(s: dict) -> list[Item]:
    """Labels above values in two columns, as online training portals print them."""
    return [
        (s.get("provider", "SafeDry Online Academy"), "Helvetica-Bold", 16, 50, "l"),
        ("Certificate of Training", "Helvetica-Bold", 28, 100, "c"),
        ("PARTICIPANT", "Helvetica", 10, 170, "l"), ("COURSE", "Helvetica", 10, 170, "r2"),
        (s["name_text"], "Helvetica-Bold", 18, 192, "l"), (" ".join(s["title_lines"]), "Helvetica-Bold", 15, 192, "r2"),
        (s["date_label"], "Helvetica", 10, 260, "l"), (s["hours_label"], "Helvetica", 10, 260, "r2"),
        (s["date_text"], "Helvetica", 14, 280, "l"), (s["hours_text"], "Helvetica", 14, 280, "r2"),
        ("Certificate No. 2026-00417    Verify at example-academy.test/verify", "Helvetica", 8, 560, "l"),
    ]


LAYOUTS = {"iicrc": iicrc_course, "school": school_class, "conference": conference, "booth": booth_visit,
           "manufacturer": manufacturer, "lms": lms_record, "transcript": transcript, "outline": outline_page,
           "invoice": invoice, "flyer": flyer, "form": form}


def _title_lines(s: dict, top: float, size: float) -> list[Item]:
    return [(t, "Helvetica-Bold", size, top + (size + 6) * i, "c") for i, t in enumerate(s["title_lines"])]


def _draw_items(c: canvas.Canvas, items: list[Item], width: float, height: float, char_space: float = 0) -> None:
    for text, font, size, top, align in items:
        y = height - top
        c.setFont(font, size)
        text_width = c.stringWidth(text, font, size) + char_space * max(len(text) - 1, 0)
        x = {"c": (width - text_width) / 2, "l": 60, "r": width - 60 - text_width, "r2": width / 2 + 40}[align]
        obj = c.beginText(x, y)
        obj.setFont(font, size)
        obj.setCharSpace(char_space)
        obj.textOut(text)
        c.drawText(obj)


PAGE = landscape(letter)  # 792 × 612: how most certificates are printed
# /Rotate value → transform that makes the drawing upright after the viewer applies the rotation
ROTATED = {90: (90, (0, -612)), 180: (180, (-792, -612)), 270: (-90, (-792, 0))}


def _page_items(spec: dict) -> list[Item]:
    return LAYOUTS[spec["layout"]](spec)


def render_pdf(pages: list[dict], rotate: int = 0, char_space: float = 0, set_rotate: bool = True) -> bytes:
    """set_rotate=False draws the text sideways on a portrait page with no /Rotate (scanner software does)."""
    buffer = io.BytesIO()
    width, height = PAGE
    size = (height, width) if rotate in (90, 270) else PAGE
    c = canvas.Canvas(buffer, pagesize=size, invariant=1)
    for spec in pages:
        c.saveState()
        if rotate:
            if set_rotate:
                c.setPageRotation(rotate)
            angle, (dx, dy) = ROTATED[rotate]
            c.rotate(angle)
            c.translate(dx, dy)
        _draw_items(c, _page_items(spec), width, height, char_space)
        c.restoreState()
        c.showPage()
    c.save()
    return buffer.getvalue()


def _rasterize(pdf_bytes: bytes, dpi: int) -> list[Image.Image]:
    pdf = pdfium.PdfDocument(pdf_bytes)
    return [pdf[i].render(scale=dpi / 72).to_pil().convert("L") for i in range(len(pdf))]


def _age(image: Image.Image, seed: int, skew: float, noise: int) -> Image.Image:
    """What a scanner or a phone does to paper: skew, specks, a little blur, uneven light."""
    rng = random.Random(seed)
    image = image.rotate(skew, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=235)
    draw = ImageDraw.Draw(image)
    for _ in range(noise):
        x, y = rng.randrange(image.width), rng.randrange(image.height)
        draw.point((x, y), fill=rng.choice((40, 90, 160)))
    return image.filter(ImageFilter.GaussianBlur(0.6))


def scanned_pdf(pages: list[dict], seed: int, skew: float, stamp: str = "") -> bytes:
    """Image-only pages; `stamp` adds the one line of text scanner apps print in a corner."""
    images = [_age(img, seed + i, skew, 6000) for i, img in enumerate(_rasterize(render_pdf(pages), 150))]
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=PAGE, invariant=1)
    for image in images:
        jpeg = io.BytesIO()
        image.save(jpeg, format="JPEG", quality=70)
        c.drawImage(ImageReader(io.BytesIO(jpeg.getvalue())), 0, 0, width=PAGE[0], height=PAGE[1])
        if stamp:
            c.setFont("Helvetica", 7)
            c.drawString(20, 12, stamp)
        c.showPage()
    c.save()
    return buffer.getvalue()


def photo(pages: list[dict], seed: int, skew: float, fmt: str, quarter_turn: bool = False) -> bytes:
    image = _age(_rasterize(render_pdf(pages[:1]), 130)[0], seed, skew, 3000)
    shaded = Image.linear_gradient("L").resize(image.size).point(lambda v: 255 - v // 6)
    image = Image.composite(image, shaded, Image.new("L", image.size, 200)).convert("RGB")
    if quarter_turn:
        image = image.rotate(90, expand=True)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": 80} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def logo_png() -> bytes:
    image = Image.new("RGB", (600, 300), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((40, 40, 260, 260), fill=(200, 40, 40))
    draw.rectangle((300, 100, 560, 200), fill=(20, 60, 160))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def build(spec: dict) -> tuple[bytes, str]:
    """(file bytes, extension) for one spec row."""
    pages = spec.get("pages") or [spec]
    form, seed = spec.get("form", "pdf"), spec.get("seed", 7)
    if form == "logo":
        return logo_png(), "png"
    if form == "spaced":
        return render_pdf(pages, char_space=2.2), "pdf"
    if form == "sideways":
        return render_pdf(pages, rotate=90, set_rotate=False), "pdf"
    if form.startswith("rotate"):
        return render_pdf(pages, rotate=int(form[6:])), "pdf"
    if form == "scan":
        return scanned_pdf(pages, seed, spec.get("skew", 1.8), spec.get("stamp", "")), "pdf"
    if form in ("photo_jpeg", "photo_png", "photo_turned"):
        fmt = "PNG" if form == "photo_png" else "JPEG"
        return photo(pages, seed, spec.get("skew", -2.5), fmt, form == "photo_turned"), fmt.lower()
    return render_pdf(pages), "pdf"
