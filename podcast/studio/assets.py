"""What co-hosts add to an episode besides sound: its cover picture, its show notes, and
the release they accept before their voice is used.

Covers and notes come from people's devices and end up in public feeds and pages, so
both are rebuilt rather than passed on: a cover is decoded and encoded afresh as a plain
JPEG (no EXIF, so no GPS position of the phone that took it), and notes are Markdown
rendered without raw HTML, then cleaned against a short allow-list.
"""
from __future__ import annotations

import io
import warnings
from typing import BinaryIO

import nh3
from markdown_it import MarkdownIt
from PIL import Image, ImageOps, UnidentifiedImageError

from diaryroom.errors import InvalidInput

# -- the cover -------------------------------------------------------------------------

MAX_COVER_BYTES = 10 * 1024 * 1024  # what a co-host may send: a phone photo fits
# Decoded, a picture takes 3-4 bytes a pixel: 50 megapixels (a 48 MP phone camera) is
# ~200 MB. Anything declaring more is refused from its header, before it is decoded.
MAX_COVER_PIXELS = 50_000_000
COVER_MIN = 1400  # px a side: Apple Podcasts' minimum
COVER_MAX = 3000  # px a side: Apple's maximum, and more than any player shows
COVER_TARGET_BYTES = 512 * 1024  # what podcast directories ask covers to stay under
COVER_FORMATS = ("JPEG", "PNG", "WEBP")
# Tried in turn until the cover fits COVER_TARGET_BYTES: best quality first, then
# lower quality, then fewer pixels (never under COVER_MIN).
_QUALITIES = (88, 80, 72, 64, 56)
_SHRINK = 0.85

NOT_A_PICTURE = ("This file is not a picture we can use. Please choose a JPEG or PNG "
                 "image.")
UNREADABLE = ("This picture could not be opened. It may be damaged or only partly "
              "sent. Please try again, or choose another picture.")
_OTHER_FORMATS = {  # pictures people often have, with a way out for each
    "HEIC": ("This is an iPhone photo (HEIC), which we cannot use. Please send it as a "
             "JPEG: on the iPhone, choose Settings, Camera, Formats, Most Compatible, "
             "or share it as a JPEG."),
    "GIF": "This is a GIF, which we cannot use. Please choose a JPEG or PNG image.",
}


def _other_format(head: bytes) -> str | None:
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return "HEIC"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    return None


def _read_limited(data: BinaryIO) -> bytes:
    raw = data.read(MAX_COVER_BYTES + 1)
    if len(raw) > MAX_COVER_BYTES:
        raise InvalidInput(f"This picture is too big a file. Please choose one under "
                           f"{MAX_COVER_BYTES // (1024 * 1024)} MB.",
                           code="image_file_too_big")
    if not raw:
        raise InvalidInput("The picture is empty. Please choose the picture again.",
                           code="not_an_image")
    return raw


def _too_many_pixels() -> InvalidInput:
    return InvalidInput("This picture has far too many pixels to use as a cover. Please "
                        "choose a smaller picture (3000 pixels a side is best).",
                        code="image_too_large")


def _open(raw: bytes) -> Image.Image:
    """Decode the picture, refusing what is not one of ours or would not fit in memory.
    Only the decoders of COVER_FORMATS are tried (less code reading hostile bytes)."""
    if (other := _other_format(raw[:16])) is not None:
        raise InvalidInput(_OTHER_FORMATS[other], code="not_an_image")
    with warnings.catch_warnings():
        # Pillow's own bomb check warns below twice its limit and raises above it; either
        # way the picture is refused, never decoded.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(raw), formats=COVER_FORMATS)
            width, height = image.size
            if width * height > MAX_COVER_PIXELS:
                raise _too_many_pixels()
            if image.format == "JPEG":
                # Decode at a reduced scale where the result still covers COVER_MAX:
                # a 48 MP photo then costs a quarter of the memory and time.
                image.draft("RGB", (COVER_MAX, COVER_MAX))
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels() from None
        except UnidentifiedImageError:
            raise InvalidInput(NOT_A_PICTURE, code="not_an_image") from None
        except (OSError, SyntaxError, ValueError, EOFError):
            # Truncated data, a broken chunk, a CRC error: Pillow says so in these.
            raise InvalidInput(UNREADABLE, code="unreadable_image") from None
    return image


def _flatten(image: Image.Image) -> Image.Image:
    """RGB for JPEG; a transparent background becomes white, not black."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L"):  # 16-bit grey PNG: scale, not clip
        image = image.convert("I").point(lambda v: v / 256).convert("L")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return image.convert("RGB")


def _square(image: Image.Image) -> Image.Image:
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return image.crop((left, top, left + side, top + side))


def _encode(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    # Nothing from the original's info is passed on: no exif, icc_profile or comment.
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def prepare_cover(data: BinaryIO) -> tuple[bytes, str]:
    """Make an episode cover from a picture a co-host sent: a square RGB JPEG of
    1400-3000 px a side under 512 KB, turned the way the phone held it, cropped to the
    centre, with no metadata. Returns ``(bytes, "image/jpeg")``.

    A picture under 1400 px on its shorter side is refused, not enlarged: blown up it
    would look blurred in every podcast app, and the co-host can usually find the
    original. Raises ``InvalidInput`` with a message a co-host can act on.
    """
    image = _open(_read_limited(data))
    image = ImageOps.exif_transpose(image)  # the way the camera was held
    side = min(image.size)
    if side < COVER_MIN:
        width, height = image.size
        raise InvalidInput(
            f"This picture is too small for a cover ({width} x {height} pixels). A cover "
            f"needs at least {COVER_MIN} x {COVER_MIN} pixels ({COVER_MAX} x {COVER_MAX} "
            "is best). Please choose a bigger picture.", code="image_too_small")
    image = _flatten(_square(image))
    image.info = {}
    size = min(side, COVER_MAX)
    while True:
        scaled = image if size == side else image.resize((size, size), Image.Resampling.LANCZOS)
        for quality in _QUALITIES:
            encoded = _encode(scaled, quality)
            if len(encoded) <= COVER_TARGET_BYTES:
                return encoded, "image/jpeg"
        if size == COVER_MIN:
            # Only noise-like pictures get here: detail no JPEG can keep small.
            raise InvalidInput("This picture has too much fine detail to make a cover "
                               "small enough for podcast apps. Please choose a simpler "
                               "picture.", code="image_too_detailed")
        size = max(COVER_MIN, int(size * _SHRINK))


# -- show notes ------------------------------------------------------------------------

MAX_NOTES_CHARS = 10_000
NOTES_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "blockquote", "h2", "h3",
              "h4", "code", "pre"}  # pre: a code block keeps its lines
NOTES_ATTRIBUTES: dict[str, set[str]] = {"*": set(), "a": {"href"}, "ol": {"start"}}
NOTES_SCHEMES = {"http", "https", "mailto"}
NOTES_REL = "noopener noreferrer nofollow"  # nofollow: links in notes are not endorsements

# html=False: raw HTML typed into the notes is shown as text, never parsed as markup.
_markdown = MarkdownIt("commonmark", {"html": False})


def check_notes(markdown: str | None) -> str:
    """The notes as they will be stored (trimmed), or ``InvalidInput`` if too long."""
    if markdown is not None and not isinstance(markdown, str):
        raise InvalidInput("The notes must be text.", code="invalid_notes")
    text = (markdown or "").strip()
    if len(text) > MAX_NOTES_CHARS:
        raise InvalidInput(f"The notes are too long ({len(text):,} characters). Please keep "
                           f"them under {MAX_NOTES_CHARS:,}.", code="notes_too_long")
    return text


def notes_html(markdown: str | None) -> str:
    """Show notes as HTML safe to put in a page or a feed as it is.

    Headings start at ``h2`` (the page's ``h1`` is the episode's title), so ``#`` gives
    ``h2`` and anything below ``h4`` stays ``h4``. Links may only be absolute http,
    https or mailto (notes are read in feeds too, where a relative link means nothing);
    pictures are dropped (a picture from elsewhere would tell another server who
    reads the notes).

    >>> notes_html("Hi *there* <b>you</b>")
    '<p>Hi <em>there</em> &lt;b&gt;you&lt;/b&gt;</p>\\n'
    """
    text = check_notes(markdown)
    if not text:
        return ""
    tokens = _markdown.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 4)}"
    html = _markdown.renderer.render(tokens, _markdown.options, {})
    return nh3.clean(html, tags=NOTES_TAGS, attributes=NOTES_ATTRIBUTES,
                     url_schemes=NOTES_SCHEMES, url_relative="deny", link_rel=NOTES_REL,
                     strip_comments=True)


# -- the co-host's release ---------------------------------------------------------------

# Bump it whenever the words below change: a co-host accepts one version, and an older
# acceptance does not cover new words.
RELEASE_VERSION = "2025-1"

_RELEASE = """\
Before your voice goes in this episode, please read this.

What you agree to:
- We may use what you record, and the name you chose, in this episode.
- We may cut and edit what you record, so it fits together.

Who hears it:
- First, only people at this service can hear it.
- It is only put out for anyone to hear if the team checks it and says yes.

If you change your mind:
- You can ask us to take you out of this episode at any time before it is put out for \
anyone to hear. Then we take out your voice and your name.
- Once it is out, we can take the episode down. But people who already saved it may \
still have a copy.

You do not have to agree. If you say no, we will not use your voice, and that is fine.
"""


def release_text() -> str:
    """The release a co-host accepts for each episode (version ``RELEASE_VERSION``),
    in plain words: what is used, who hears it, and how to get out of it."""
    return _RELEASE
