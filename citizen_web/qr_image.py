"""A booking's QR code as a PNG (issue 18): what the kiosk's scanner reads, served by the web itself (the pages'
CSP allows images from the site only, never `data:`). Made with `qrcode` and Pillow, as the kiosk's ticket is."""

from __future__ import annotations

import io
from functools import lru_cache

import qrcode
import qrcode.constants
from PIL import Image

MODULE_PX = 8  # pixels per module: a 21-module code is 232 px with its quiet zone, sharp at any phone's scale
QUIET = 4  # modules of white around it (the QR standard's quiet zone: what a scanner needs)


@lru_cache(maxsize=512)
def qr_png(content: str) -> bytes:
    """A 1-bit PNG of `content` as a QR code (smallest version, EC level M, a quiet zone of QUIET modules)."""
    code = qrcode.QRCode(version=None, error_correction=qrcode.constants.ERROR_CORRECT_M, border=QUIET)
    code.add_data(content)
    code.make(fit=True)
    matrix = code.get_matrix()
    side = len(matrix)
    image = Image.new("1", (side, side), 1)
    image.putdata([0 if dark else 1 for row in matrix for dark in row])
    image = image.resize((side * MODULE_PX, side * MODULE_PX), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
