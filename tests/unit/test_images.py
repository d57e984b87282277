"""Checks of uploaded documents: formats, damage, limits, and the metadata-free copy."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import ExifTags, Image

from chalicelib.domain.images import MIN_SIDE, Verdict, inspect_image, sniff, strip_metadata
from tests.helpers import photo

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCam"
    exif[ExifTags.Base.Orientation] = 6  # rotate 90° clockwise to display
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (43.0, 15.0, 0.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (76.0, 54.0, 0.0)
    return exif


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR for a huge image, with a token IDAT (no pixels allocated)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + png_chunk(b"IEND", b"")
    )


def check(data: bytes, **limits: int) -> Verdict:
    return inspect_image(
        data,
        max_bytes=limits.get("max_bytes", MAX_BYTES),
        max_pixels=limits.get("max_pixels", MAX_PIXELS),
    )


def test_real_jpeg_is_accepted_with_its_dimensions() -> None:
    verdict = check(photo("JPEG", (640, 480)))

    assert verdict.accepted, verdict.reason
    assert (verdict.format, verdict.width, verdict.height) == ("JPEG", 640, 480)
    assert verdict.content_type == "image/jpeg"
    assert verdict.reason == ""


def test_real_png_is_accepted() -> None:
    verdict = check(photo("PNG", (400, 300)))

    assert verdict.accepted, verdict.reason
    assert verdict.format == "PNG"
    assert verdict.content_type == "image/png"


def test_text_file_renamed_jpg_is_rejected_in_russian() -> None:
    verdict = check("Это не фотография, а текст.\n".encode() * 50)

    assert not verdict.accepted
    assert "JPEG или PNG" in verdict.reason


def test_jpeg_magic_followed_by_garbage_is_rejected() -> None:
    verdict = check(b"\xff\xd8\xff\xe0" + b"garbage" * 100)

    assert not verdict.accepted
    assert "повреждён" in verdict.reason


def test_truncated_jpeg_is_rejected() -> None:
    data = photo("JPEG", (800, 600), quality=95)

    verdict = check(data[: len(data) // 2])

    assert not verdict.accepted
    assert "повреждён" in verdict.reason


def test_truncated_png_is_rejected() -> None:
    data = photo("PNG", (800, 600))

    verdict = check(data[: len(data) // 2])

    assert not verdict.accepted


def test_oversized_file_is_rejected_before_decoding() -> None:
    data = photo("JPEG", (640, 480))

    verdict = check(data, max_bytes=len(data) - 1)

    assert not verdict.accepted
    assert "слишком большой" in verdict.reason
    assert verdict.format is None  # refused on the byte count alone


def test_empty_file_is_rejected() -> None:
    assert not check(b"").accepted


def test_pixel_bomb_header_is_rejected_without_allocating() -> None:
    bomb = png_header_only(50_000, 50_000)  # 2.5 gigapixels declared in ~60 bytes

    verdict = check(bomb)

    assert not verdict.accepted
    assert "разрешение" in verdict.reason


def test_image_just_over_the_pixel_limit_is_rejected() -> None:
    # Between MAX_IMAGE_PIXELS and twice that Pillow only warns: the check still refuses.
    verdict = check(png_header_only(7000, 6000), max_pixels=40_000_000)

    assert not verdict.accepted
    assert "разрешение" in verdict.reason


def test_tiny_image_is_rejected_with_the_minimum_stated() -> None:
    verdict = check(photo("JPEG", (200, 1000)))

    assert not verdict.accepted
    assert f"{MIN_SIDE}×{MIN_SIDE}" in verdict.reason


def test_heic_is_recognised_and_refused_with_advice() -> None:
    heic_start = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"

    verdict = check(heic_start + b"\x00" * 100)

    assert sniff(heic_start) == "HEIF"
    assert not verdict.accepted
    assert "HEIC" in verdict.reason


def test_strip_metadata_removes_gps_and_applies_orientation() -> None:
    original = photo("JPEG", (640, 480), exif=gps_exif())
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif().get_ifd(ExifTags.IFD.GPSInfo)

    cleaned = strip_metadata(original)

    with Image.open(io.BytesIO(cleaned)) as after:
        assert after.format == "JPEG"
        assert not after.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert dict(after.getexif()) == {}
        assert after.size == (480, 640)  # orientation 6 applied to the pixels
    assert b"Exif" not in cleaned
    assert b"PhoneCam" not in cleaned
    assert check(cleaned).accepted


def test_strip_metadata_removes_png_exif_and_text() -> None:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "Алматы, ул. Абая 1")
    image = Image.linear_gradient("L").resize((400, 300))
    out = io.BytesIO()
    image.save(out, format="PNG", exif=gps_exif(), pnginfo=info)

    cleaned = strip_metadata(out.getvalue())

    with Image.open(io.BytesIO(cleaned)) as after:
        assert after.format == "PNG"
        assert "exif" not in after.info
        assert "Comment" not in after.info
    assert b"eXIf" not in cleaned and b"tEXt" not in cleaned


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_strip_metadata_keeps_a_valid_image(fmt: str) -> None:
    cleaned = strip_metadata(photo(fmt, (500, 400)))

    verdict = check(cleaned)

    assert verdict.accepted
    assert (verdict.format, verdict.width, verdict.height) == (fmt, 500, 400)
