"""A share card per figure (figures/<id>.card.png): one image for the apps Chinese readers share in,
which do not reliably show a link's preview. It is the phone drawing (its title, chart and source
line) with a band below: the figure's number, the book, its version and, when the book's public
address is known (html.baseurl), a QR code of the figure's page; otherwise the band says the
address is unknown.
"""
from __future__ import annotations

import io

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import segno

from zzreview.drawing import charts

BAND_IN = 1.15  # the band under the drawing: version, book and the QR code
QR_IN = 0.95


def draw_card(drawing_png, out_png, number: str, book: str, version: str, address: str | None) -> None:
    """Write the card: `drawing_png` (the phone drawing) above a band of who, what and where."""
    charts.setup()
    image = mpimg.imread(drawing_png)
    width_in = charts.NARROW_IN
    drawing_in = width_in * image.shape[0] / image.shape[1]
    height_in = drawing_in + BAND_IN
    fig = plt.figure(figsize=(width_in, height_in))
    try:
        top = fig.add_axes((0, BAND_IN / height_in, 1, drawing_in / height_in))
        top.imshow(image, interpolation="antialiased")
        top.set_axis_off()
        fig.add_artist(plt.Line2D([0.03, 0.97], [BAND_IN / height_in] * 2, color=charts.PALETTE["grid"], lw=0.8))
        text_right = (width_in - QR_IN - 0.2) / width_in if address else 0.96
        lines = [f"{number} · 《{book}》", f"版本 {version}"]
        lines.append("扫码看本图的数据、出处与引用" if address else "本书的公开网址不详")
        wrapped = [part for line in lines for part in charts._wrap(line, int(text_right * width_in * 72 / 8.5))]
        fig.text(0.03, (BAND_IN - 0.15) / height_in, "\n".join(wrapped), ha="left", va="top", fontsize=8.5,
                 color=charts.PALETTE["ink"], linespacing=1.5)
        if address:
            qr = fig.add_axes(((width_in - QR_IN - 0.1) / width_in, 0.1 / height_in, QR_IN / width_in, QR_IN / height_in))
            code = segno.make(address, error="m")
            qr.imshow([[0 if dark else 1 for dark in row] for row in code.matrix_iter(scale=1, border=2)],
                      cmap="gray", interpolation="nearest")
            qr.set_axis_off()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=image.shape[1] / width_in, metadata={"Software": "zzreview"})
        out_png.write_bytes(buf.getvalue())
    finally:
        plt.close(fig)
