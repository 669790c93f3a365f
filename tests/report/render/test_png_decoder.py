"""The stdlib PNG decoder the browser test reads screenshots with: every scanline filter
of the PNG specification undone exactly, whatever the pixels."""

from __future__ import annotations

import struct
import zlib

from hypothesis import given
from hypothesis import strategies as st

from tests.browser import _paeth, decode_png


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _filtered(kind: int, row: bytes, previous: bytes, bpp: int) -> bytes:
    """The forward filter of PNG: what an encoder writes for ``row``."""
    out = bytearray()
    for i, value in enumerate(row):
        left = row[i - bpp] if i >= bpp else 0
        up = previous[i]
        corner = previous[i - bpp] if i >= bpp else 0
        predictor = (0, left, up, (left + up) // 2, _paeth(left, up, corner))[kind]
        out.append((value - predictor) & 0xFF)
    return bytes(out)


def encode(rows: list[bytes], width: int, channels: int) -> bytes:
    """A PNG whose scanline ``y`` uses filter ``y % 5``: all five kinds in one image."""
    raw, previous = bytearray(), bytes(width * channels)
    for y, row in enumerate(rows):
        raw.append(y % 5)
        raw += _filtered(y % 5, row, previous, channels)
        previous = row
    colour = 2 if channels == 3 else 6
    header = struct.pack(">IIBBBBB", width, len(rows), 8, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(raw)))
        + _chunk(b"IEND", b"")
    )


@given(st.integers(1, 7), st.sampled_from((3, 4)), st.integers(1, 11), st.data())
def test_decoding_undoes_every_filter(
    width: int, channels: int, height: int, data: st.DataObject
) -> None:
    stride = width * channels
    row = st.binary(min_size=stride, max_size=stride)
    rows = [data.draw(row) for _ in range(height)]
    image = decode_png(encode(rows, width, channels))
    assert (image.width, image.height, image.channels) == (width, height, channels)
    assert list(image.rows) == rows
