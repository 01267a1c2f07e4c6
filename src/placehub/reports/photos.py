"""Photos sent with reports: checked (size, type, dimensions) and re-encoded by Pillow so no
metadata survives — no EXIF location, camera serial or thumbnail reaches the database."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from placehub.errors import BadRequest

# Pillow format -> the media type stored and served.
ACCEPTED = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# Larger photos are scaled down: enough to see the problem, small enough to keep.
MAX_SIDE = 2048
# Refuse decompression bombs well before Pillow's own (much larger) limit.
MAX_PIXELS = 40_000_000


@dataclass(frozen=True)
class CleanPhoto:
    """A photo ready to store: new bytes without metadata, and its media type."""

    data: bytes
    media_type: str
    width: int
    height: int


def clean_photo(data: bytes, max_bytes: int) -> CleanPhoto:
    """Check a photo and re-encode it without metadata (orientation applied first)."""
    if not data:
        raise BadRequest("the photo is empty: choose a JPEG, PNG or WebP file")
    if len(data) > max_bytes:
        raise BadRequest(f"the photo is {len(data) / 1e6:.1f} MB: it must be smaller than "
                         f"{max_bytes / 1e6:.0f} MB")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format or ""
            if kind not in ACCEPTED:
                raise BadRequest(f"the photo is a {kind or 'file of unknown type'}: it must be "
                                 "a JPEG, PNG or WebP")
            if probe.width * probe.height > MAX_PIXELS:
                raise BadRequest(f"the photo is {probe.width}x{probe.height} pixels: it must "
                                 f"be at most {MAX_PIXELS // 1_000_000} megapixels")
            probe.load()
            image = ImageOps.exif_transpose(probe)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise BadRequest("the photo could not be read: it must be a JPEG, PNG or WebP "
                         "image") from None
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    # A fresh image: nothing of the upload's info (EXIF, XMP, ICC, text chunks) is carried.
    image = _pixels_only(image)
    out = io.BytesIO()
    if kind == "JPEG":
        image.convert("RGB").save(out, "JPEG", quality=85)
    elif kind == "PNG":
        image.save(out, "PNG")
    else:
        image.save(out, "WEBP", quality=85)
    return CleanPhoto(out.getvalue(), ACCEPTED[kind], image.width, image.height)


def _pixels_only(image: Image.Image) -> Image.Image:
    mode = image.mode if image.mode in ("RGB", "RGBA", "L", "LA") else "RGBA"
    source = image.convert(mode)
    fresh = Image.new(mode, source.size)
    fresh.paste(source)
    return fresh
