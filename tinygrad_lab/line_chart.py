"""Line charts drawn with Pillow: panels side by side under a title, each a framed plot of y against
an integer x (the epochs of a run) with ticks, axis labels and a legend; every series is a line
joining its markers.

An axis spans its finite values widened by 5% of their range on each side (a single value v gets
v ± 0.5 on the integer x axis, v ± 5% of |v| on y, ± 0.05 around 0; no value at all gets 0 to 1).
Its ticks are the multiples of a step of 1, 2 or 5 times a power of ten (at least 1 on x) in that
span, at most ``MAX_TICKS`` of them; a label has the significant digits that step needs, in %g
style (``0.075``, ``97.5``, ``2e+29``; whole numbers below a million written out: ``100``).  A point whose x or y is not finite (a diverged run's inf or
NaN loss) is not drawn and breaks its line, as in matplotlib.  The legend goes in the corner of the
plot where it covers the fewest points of the lines (upper right first, then lower right).  The
chart is drawn at ``SCALE`` times its size and reduced by averaging each ``SCALE`` x ``SCALE`` block of
pixels, which smooths the lines; the frame and ticks sit on whole pixels, so they stay sharp.
"""
from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Sequence
from typing import NamedTuple

from PIL import Image, ImageDraw, ImageFont

SCALE = 2          # drawn at twice the size; a line 2 wide from an even pixel is one sharp pixel after
MAX_TICKS = 7
BIGGEST = sys.float_info.max


class Series(NamedTuple):
    label: str
    x: Sequence[float]
    y: Sequence[float]
    color: str                        # "#rrggbb"
    marker: str                       # "o" circle, "^" triangle, "s" square


class Panel(NamedTuple):
    title: str
    xlabel: str
    ylabel: str
    series: Sequence[Series]


def axis_span(values: Sequence[float], integer: bool = False) -> tuple[float, float]:
    """The span an axis shows for ``values`` (see the module docstring); always finite, lo < hi."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    lo, hi = min(finite), max(finite)
    pad = 0.1 * (hi / 2 - lo / 2) if hi > lo else 0.5 if integer else 0.05 * abs(lo) or 0.05
    return max(lo - pad, -BIGGEST), min(hi + pad, BIGGEST)


def ticks(lo: float, hi: float, integer: bool = False) -> tuple[list[float], list[str]]:
    """The tick values in [lo, hi] and their labels (see the module docstring)."""
    rough = (hi / 2 - lo / 2) / ((MAX_TICKS - 1) / 2)         # halves: no overflow near BIGGEST
    power = 10.0 ** math.floor(math.log10(rough))
    step = max(next(m * power for m in (1, 2, 5, 10) if m * power >= rough), 1 if integer else 0)
    values = [k * step for k in range(math.ceil(lo / step), math.floor(hi / step) + 1) if lo <= k * step <= hi]
    biggest = max(abs(v) for v in values + [step])
    whole = math.floor(math.log10(biggest)) + 1                 # digits before the point
    digits = max(1, whole - math.floor(math.log10(step) + 1e-9), whole if whole <= 6 else 1)
    return values, [f"{v:.{digits}g}" for v in values]


def draw(panels: Sequence[Panel], title: str, size: tuple[int, int] = (1100, 440)) -> Image.Image:
    """The panels side by side under ``title``, as an RGB image of ``size`` pixels."""
    width, height = size
    image = Image.new("RGB", (width * SCALE, height * SCALE), "white")
    pen = ImageDraw.Draw(image)
    fonts = {n: ImageFont.load_default(size=n * SCALE) for n in (12, 13, 15, 16)}
    pen.text((width * SCALE / 2, 8 * SCALE), title, fill="black", font=fonts[16], anchor="ma")
    part = width * SCALE // len(panels)
    for i, panel in enumerate(panels):
        _draw_panel(image, pen, panel, (i * part, (i + 1) * part, height * SCALE), fonts)
    return image.reduce(SCALE)


def _draw_panel(image: Image.Image, pen: ImageDraw.ImageDraw, panel: Panel, box: tuple, fonts: dict) -> None:
    s, (left, right, bottom) = SCALE, box
    x_lo, x_hi = axis_span([x for series in panel.series for x in series.x], integer=True)
    y_lo, y_hi = axis_span([y for series in panel.series for y in series.y])
    (x_ticks, x_labels), (y_ticks, y_labels) = ticks(x_lo, x_hi, integer=True), ticks(y_lo, y_hi)
    label_width = max((pen.textlength(label, font=fonts[12]) for label in y_labels), default=0)
    x0, x1, y0, y1 = _snap(left + 34 * s + label_width), _snap(right - 18 * s), 62 * s, _snap(bottom - 48 * s)

    def at(x: float, y: float) -> tuple[float, float]:     # halves: no overflow near BIGGEST
        return (x0 + (x / 2 - x_lo / 2) / (x_hi / 2 - x_lo / 2) * (x1 - x0),
                y1 - (y / 2 - y_lo / 2) / (y_hi / 2 - y_lo / 2) * (y1 - y0))

    pen.text(((x0 + x1) / 2, y0 - 8 * s), panel.title, fill="black", font=fonts[15], anchor="md")
    pen.text(((x0 + x1) / 2, y1 + 26 * s), panel.xlabel, fill="black", font=fonts[13], anchor="ma")
    _vertical_text(image, (left + 8 * s, (y0 + y1) / 2), panel.ylabel, fonts[13])
    for x, label in zip(x_ticks, x_labels):
        pen.line([(_snap(at(x, y_lo)[0]), y1), (_snap(at(x, y_lo)[0]), y1 + 4 * s)], fill="black", width=s)
        pen.text((at(x, y_lo)[0], y1 + 7 * s), label, fill="black", font=fonts[12], anchor="ma")
    for y, label in zip(y_ticks, y_labels):
        pen.line([(x0 - 4 * s, _snap(at(x_lo, y)[1])), (x0, _snap(at(x_lo, y)[1]))], fill="black", width=s)
        pen.text((x0 - 7 * s, at(x_lo, y)[1]), label, fill="black", font=fonts[12], anchor="rm")
    covered = []                                                 # points on the lines, for the legend
    for series in panel.series:
        points = [at(x, y) if math.isfinite(x) and math.isfinite(y) else None for x, y in zip(series.x, series.y)]
        for finite, run in itertools.groupby(points, key=lambda p: p is not None):
            run = list(run)
            if finite and len(run) > 1:
                pen.line(run, fill=series.color, width=round(2.2 * s), joint="curve")
            if finite:
                covered += [(a[0] + (b[0] - a[0]) * t / 8, a[1] + (b[1] - a[1]) * t / 8)
                            for a, b in zip(run, run[1:] + run[-1:]) for t in range(8)]
        for point in filter(None, points):
            _marker(pen, point, series)
    pen.rectangle((x0, y0, x1 + s - 1, y1 + s - 1), outline="black", width=s)
    if panel.series:
        _legend(pen, (x0, y0, x1, y1), panel.series, covered, fonts[12])


def _snap(v: float) -> int:
    """``v`` on the nearest output pixel's edge: a line ``SCALE`` wide from there stays one sharp pixel."""
    return SCALE * round(v / SCALE)


def _marker(pen: ImageDraw.ImageDraw, xy: tuple[float, float], series: Series) -> None:
    r = 4.6 * SCALE
    if series.marker == "o":
        pen.ellipse((xy[0] - r, xy[1] - r, xy[0] + r, xy[1] + r), fill=series.color)
    else:
        sides, reach = {"^": (3, 1.2), "s": (4, 1.25)}[series.marker]       # as large as the circle, to the eye
        pen.regular_polygon((xy, r * reach), sides, fill=series.color)


def _legend(pen: ImageDraw.ImageDraw, plot: tuple, series: Sequence[Series], covered: list, font) -> None:
    s, (x0, y0, x1, y1) = SCALE, plot
    row, sample = 20 * s, 28 * s
    width = sample + max(pen.textlength(one.label, font=font) for one in series) + 24 * s
    height = row * len(series) + 8 * s
    corners = [(x1 - 8 * s - width, y0 + 8 * s), (x1 - 8 * s - width, y1 - 8 * s - height),
               (x0 + 8 * s, y0 + 8 * s), (x0 + 8 * s, y1 - 8 * s - height)]
    left, top = min(corners, key=lambda c: sum(c[0] <= x <= c[0] + width and c[1] <= y <= c[1] + height
                                               for x, y in covered))
    pen.rounded_rectangle((left, top, left + width, top + height), 3 * s, fill="white", outline="#cccccc", width=s)
    for i, one in enumerate(series):
        y = top + 4 * s + row * (i + 0.5)
        pen.line([(left + 8 * s, y), (left + 8 * s + sample, y)], fill=one.color, width=round(2.2 * s))
        _marker(pen, (left + 8 * s + sample / 2, y), one)
        pen.text((left + 16 * s + sample, y), one.label, fill="black", font=font, anchor="lm")


def _vertical_text(image: Image.Image, left_middle: tuple[float, float], text: str, font) -> None:
    """``text`` in black, turned a quarter to read upwards, its left edge and middle at ``left_middle``."""
    l, t, r, b = font.getbbox(text)
    strip = Image.new("L", (r - l, b - t), 0)
    ImageDraw.Draw(strip).text((-l, -t), text, fill=255, font=font)
    strip = strip.rotate(90, expand=True)
    image.paste("black", (round(left_middle[0]), round(left_middle[1] - strip.height / 2)), strip)
