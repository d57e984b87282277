"""Checks of an uploaded ID photo or selfie, and the metadata-free copy the bucket keeps.

Pure functions over bytes; Pillow is imported on first use (the routes never need it).

Accepted: JPEG and PNG, the formats every phone can send. HEIC/HEIF (iPhone's
default) is refused with a reason telling how to send JPEG instead: Pillow cannot
decode it without ``pillow-heif`` (≈ 27 MB unpacked, HEVC licensing), and a file
the worker cannot decode cannot be checked.

Order of the checks, cheapest and safest first: byte size → magic bytes → the
header only (dimensions; the pixel limit is enforced before any pixel is
decoded, so a "decompression bomb" never allocates) → minimum dimensions →
``verify()`` (structure, PNG CRCs) → a full ``load()`` (truncated data).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any

from chalicelib.i18n import N_

#: Pillow format name → the MIME type the bucket stores it with.
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
ACCEPTED_CONTENT_TYPES = tuple(CONTENT_TYPES.values())
#: The shorter side of a legible ID-card photo; phone cameras give ≥ 1080.
MIN_SIDE = 300

_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif")
#: Pillow reads some camera JPEGs (several pictures in one file) as MPO.
_FORMAT_ALIASES = {"MPO": "JPEG"}

REASON_EMPTY = N_("Файл пустой. Загрузите фотографию ещё раз.")
REASON_NOT_IMAGE = N_(
    "Файл не является фотографией в формате JPEG или PNG. Загрузите фото в одном из этих форматов."
)
REASON_HEIF = N_(
    "Формат HEIC/HEIF не поддерживается. Сохраните фото в формате JPEG "
    "(на iPhone: Настройки → Камера → Форматы → «Наиболее совместимый») и загрузите его снова."
)
REASON_BROKEN = N_("Файл повреждён или загружен не полностью. Загрузите фотографию ещё раз.")


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check; ``reason`` is Russian text for the borrower ("" when accepted)."""

    accepted: bool
    reason: str
    format: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def content_type(self) -> str | None:
        """MIME type of the accepted format."""
        return CONTENT_TYPES.get(self.format or "")


def _reject(reason: str, fmt: str | None = None, size: tuple[int, int] | None = None) -> Verdict:
    width, height = size or (None, None)
    return Verdict(False, reason, fmt, width, height)


def reason_too_large(max_bytes: int) -> str:
    """The refusal for a file over ``max_bytes``."""
    return (
        f"Файл слишком большой: не больше {max_bytes / (1024 * 1024):g} МБ. "
        "Загрузите фото меньшего размера."
    )


def reason_too_many_pixels(max_pixels: int) -> str:
    """The refusal for an image over ``max_pixels``."""
    return (
        f"Слишком большое разрешение фото: не больше {max_pixels / 1_000_000:g} Мп. "
        "Уменьшите фото и загрузите его снова."
    )


def reason_too_small() -> str:
    """The refusal for an image under the minimum dimensions."""
    return (
        f"Фото слишком маленькое: нужно не меньше {MIN_SIDE}×{MIN_SIDE} пикселей, "
        "чтобы документ можно было прочитать. Сфотографируйте его крупнее."
    )


def sniff(data: bytes) -> str | None:
    """The format the magic bytes announce: "JPEG", "PNG", "HEIF" or None."""
    if data.startswith(_JPEG_MAGIC):
        return "JPEG"
    if data.startswith(_PNG_MAGIC):
        return "PNG"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


def _pil() -> Any:
    # lazy: Pillow ≈ 53 ms CPU at cold start; only _pil() needs it
    from PIL import Image

    return Image


def inspect_image(data: bytes, *, max_bytes: int, max_pixels: int) -> Verdict:
    """Check an uploaded file; never raises on bad content (that is a rejection)."""
    if not data:
        return _reject(REASON_EMPTY)
    if len(data) > max_bytes:
        return _reject(reason_too_large(max_bytes))
    expected = sniff(data)
    if expected == "HEIF":
        return _reject(REASON_HEIF, "HEIF")
    if expected is None:
        return _reject(REASON_NOT_IMAGE)

    image_module = _pil()
    # Pillow's own guard warns above MAX_IMAGE_PIXELS and raises above twice that;
    # both become a rejection here, and the explicit check below covers the rest.
    image_module.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", image_module.DecompressionBombWarning)
            with image_module.open(io.BytesIO(data), formats=[expected]) as header:
                fmt = _FORMAT_ALIASES.get(header.format, header.format)
                size: tuple[int, int] = header.size
    except (image_module.DecompressionBombError, image_module.DecompressionBombWarning):
        return _reject(reason_too_many_pixels(max_pixels), expected)
    except Exception:
        return _reject(REASON_BROKEN, expected)
    if fmt != expected:
        return _reject(REASON_NOT_IMAGE, fmt)

    width, height = size
    if width * height > max_pixels:
        return _reject(reason_too_many_pixels(max_pixels), fmt, size)
    if min(width, height) < MIN_SIDE:
        return _reject(reason_too_small(), fmt, size)

    try:
        with image_module.open(io.BytesIO(data), formats=[expected]) as image:
            image.verify()
        # verify() leaves the image unusable: decode every pixel from a fresh open.
        with image_module.open(io.BytesIO(data), formats=[expected]) as image:
            image.load()
    except Exception:
        return _reject(REASON_BROKEN, fmt, size)
    return Verdict(True, "", fmt, width, height)


def strip_metadata(data: bytes) -> bytes:
    """Re-encode an accepted image without EXIF (GPS, camera), XMP or text chunks.

    The EXIF orientation is applied to the pixels first, so the copy still
    shows upright. The ICC colour profile is kept (it describes colours, not
    the person). Call only on data ``inspect_image`` accepted.
    """
    # lazy: Pillow ≈ 53 ms CPU at cold start; only strip_metadata() needs it
    from PIL import ImageOps

    image_module = _pil()
    with image_module.open(io.BytesIO(data)) as source:
        fmt = _FORMAT_ALIASES.get(source.format, source.format)
        icc = source.info.get("icc_profile")
        image = ImageOps.exif_transpose(source)
    image.info = {}
    options: dict[str, Any] = {"exif": b""}
    if icc:
        options["icc_profile"] = icc
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        options.update(quality=92, optimize=True)
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()
