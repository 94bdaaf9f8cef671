"""The one decode function every image goes through, in training and in the app.

``load_rgb`` turns a file (or its bytes) into a ``(224, 224, 3)`` ``uint8`` RGB array: EXIF
orientation applied, any Pillow mode converted to RGB, 16-bit images scaled down rather than
clipped, transparency composited on white, large JPEGs decoded at reduced scale first.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from trainer.errors import ImageDecodeError
from trainer.names import IMAGE_SIZE

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".gif", ".webp")

# Images above this many pixels are refused before their pixels are decoded (Pillow's own
# decompression-bomb limit). ~89 megapixels is far above any dermatoscope.
MAX_PIXELS = Image.MAX_IMAGE_PIXELS or 89_478_485


def is_image_name(path: str | os.PathLike) -> bool:
    """True when the file name has one of the image extensions the trainer and app read."""
    return str(path).lower().endswith(IMAGE_EXTENSIONS)


def _to_rgb(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        hi = float(arr.max()) if arr.size else 0.0
        lo = float(arr.min()) if arr.size else 0.0
        if mode.startswith("I;16") or hi > 255:
            top = 65535.0 if mode.startswith("I;16") else max(hi, 1.0)
            arr = arr / top * 255.0
        elif lo < 0:
            arr = arr - lo
        gray = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
        return Image.fromarray(gray).convert("RGB")
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def load_rgb(source: str | os.PathLike | bytes, size: int = IMAGE_SIZE) -> np.ndarray:
    """Decode ``source`` (a path or the file's bytes) into a ``(size, size, 3)`` uint8 RGB array.

    Raises :class:`ImageDecodeError` naming the file and the reason when it cannot be decoded
    (not an image, truncated, too large, empty). Never returns a partly decoded image.
    """
    def square(rgb: Image.Image) -> Image.Image:
        return rgb if rgb.size == (size, size) else rgb.resize((size, size), Image.Resampling.BILINEAR,
                                                                reducing_gap=3.0)

    arr = _decode(source, (size, size), square)
    label = "<bytes>" if isinstance(source, (bytes, bytearray)) else str(source)
    if arr.shape != (size, size, 3):  # pragma: no cover - defensive: Pillow contract
        raise ImageDecodeError(label, f"decoded to unexpected shape {arr.shape}")
    return arr


def load_original_rgb(source: str | os.PathLike | bytes, max_side: int | None = None) -> np.ndarray:
    """The image as the clinician took it: EXIF orientation applied, RGB, its own aspect ratio, full
    resolution (or at most ``max_side`` pixels on the longer side). The same checks as :func:`load_rgb`."""
    def keep_aspect(rgb: Image.Image) -> Image.Image:
        if max_side and max(rgb.size) > max_side:
            rgb = rgb.copy()
            rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        return rgb

    return _decode(source, (max_side, max_side) if max_side else None, keep_aspect)


def _decode(source, draft_size, finish) -> np.ndarray:
    label = "<bytes>" if isinstance(source, (bytes, bytearray)) else str(source)
    try:
        if isinstance(source, (bytes, bytearray)):
            if not source:
                raise ImageDecodeError(label, "the data is empty (0 bytes)")
            stream = io.BytesIO(source)
        else:
            path = Path(source)
            if not path.is_file():
                raise ImageDecodeError(label, "no such file")
            if path.stat().st_size == 0:
                raise ImageDecodeError(label, "the file is empty (0 bytes)")
            stream = open(path, "rb")
        with stream, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise ImageDecodeError(
                        label,
                        f"{img.width}x{img.height} pixels is above the "
                        f"{MAX_PIXELS // 1_000_000} megapixel limit; downscale it first",
                    )
                if img.format == "JPEG" and draft_size:
                    # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when that is still >= the size wanted.
                    img.draft("RGB", draft_size)
                img.load()
                oriented = ImageOps.exif_transpose(img) or img
                arr = np.asarray(finish(_to_rgb(oriented)), dtype=np.uint8)
    except ImageDecodeError:
        raise
    except UnidentifiedImageError:
        raise ImageDecodeError(label, "not an image Pillow can read (unknown or corrupt format)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageDecodeError(label, f"image too large ({exc}); downscale it first") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageDecodeError(label, f"corrupt or truncated image data ({exc})") from None
    except MemoryError:
        raise ImageDecodeError(label, "not enough memory to decode this image") from None
    if arr.ndim != 3 or arr.shape[2] != 3:  # pragma: no cover - defensive: Pillow contract
        raise ImageDecodeError(label, f"decoded to unexpected shape {arr.shape}")
    return np.ascontiguousarray(arr)
