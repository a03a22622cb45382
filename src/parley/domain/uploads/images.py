"""An uploaded image's dimensions and thumbnail, with Pillow (in a worker thread)."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import IO

THUMBNAIL_PX = 320
MAX_PIXELS = 50_000_000
"""Larger images (decompression bombs) get no dimensions or thumbnail; they stay files."""


@dataclass(frozen=True, slots=True)
class ImageInfo:
    width: int
    height: int
    thumbnail: bytes | None
    """JPEG (transparency on white), at most THUMBNAIL_PX a side."""


def inspect_image(source: IO[bytes]) -> ImageInfo | None:
    """Dimensions and a thumbnail; None when Pillow cannot read the image."""
    # Imported on first use: a server that never sees an image never loads Pillow.
    from PIL import Image, UnidentifiedImageError

    source.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    return None
                image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
                rgba = image.convert("RGBA")
                flat = Image.new("RGB", rgba.size, (255, 255, 255))
                flat.paste(rgba, mask=rgba.getchannel("A"))
                out = io.BytesIO()
                flat.save(out, format="JPEG", quality=80)
                return ImageInfo(width, height, out.getvalue())
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        return None
