"""Photos sent with reports: size and type checks, and no metadata (EXIF GPS, camera, text
chunks) left after re-encoding."""

from __future__ import annotations

import io

import pytest
from PIL import Image, PngImagePlugin

from placehub.errors import BadRequest
from placehub.reports.photos import clean_photo

GPS_IFD = 0x8825


def jpeg_with_gps(width: int = 64, height: int = 32, orientation: int = 1) -> bytes:
    """A JPEG a phone might send: camera make and model, GPS position, an orientation."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 12"  # Model
    exif[0x0112] = orientation
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (52.0, 40.0, 13.8), 3: "W", 4: (0.0, 43.0, 39.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_exif_location_and_camera_are_stripped_from_a_jpeg() -> None:
    """The upload has GPS and camera tags; the stored photo has no EXIF at all."""
    upload = jpeg_with_gps()
    assert Image.open(io.BytesIO(upload)).getexif().get_ifd(GPS_IFD)
    clean = clean_photo(upload, 5_000_000)
    stored = Image.open(io.BytesIO(clean.data))
    assert clean.media_type == "image/jpeg" and stored.format == "JPEG"
    assert not stored.getexif() and "exif" not in stored.info
    assert b"PhoneMaker" not in clean.data and b"Exif" not in clean.data


def test_orientation_is_applied_before_the_tags_go() -> None:
    """A photo taken sideways (orientation 6) is stored upright: its sides are swapped."""
    clean = clean_photo(jpeg_with_gps(64, 32, orientation=6), 5_000_000)
    assert (clean.width, clean.height) == (32, 64)


def test_png_text_chunks_are_dropped() -> None:
    """A PNG's text chunks (which can hold anything) do not survive."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at 52.67N 0.72W")
    out = io.BytesIO()
    Image.new("RGBA", (10, 10)).save(out, "PNG", pnginfo=info)
    clean = clean_photo(out.getvalue(), 5_000_000)
    assert clean.media_type == "image/png" and b"52.67N" not in clean.data
    assert not Image.open(io.BytesIO(clean.data)).text  # type: ignore[attr-defined]


@pytest.mark.parametrize(("data", "limit", "says"), [
    (b"", 1000, "empty"),
    (b"GIF89a" + b"\x00" * 20, 1000, "could not be read"),
    (b"%PDF-1.4 not an image", 1000, "could not be read"),
])
def test_wrong_files_are_refused(data: bytes, limit: int, says: str) -> None:
    """Empty files and non-images are refused with what to send instead."""
    with pytest.raises(BadRequest, match=says):
        clean_photo(data, limit)


def test_too_large_and_wrong_type_images_are_refused() -> None:
    """Over the size limit, or a real image of another type (GIF, BMP): refused."""
    upload = jpeg_with_gps()
    with pytest.raises(BadRequest, match="must be smaller than"):
        clean_photo(upload, len(upload) - 1)
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "BMP")
    with pytest.raises(BadRequest, match="JPEG, PNG or WebP"):
        clean_photo(out.getvalue(), 5_000_000)


def test_large_photos_are_scaled_down() -> None:
    """A 4000 px wide photo is stored at most 2048 px on its long side."""
    out = io.BytesIO()
    Image.new("RGB", (4000, 1000), (0, 90, 0)).save(out, "JPEG")
    clean = clean_photo(out.getvalue(), 50_000_000)
    assert (clean.width, clean.height) == (2048, 512)
