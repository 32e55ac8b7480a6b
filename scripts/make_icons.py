"""Draws Tandem's neutral icon (two overlapping circles) as PNGs, with the standard library only.

Run: python3 scripts/make_icons.py  (writes frontend/icons/*.png)
"""

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "frontend" / "icons"
BACKGROUND = (0x2F, 0x4B, 0x5A)  # deep slate blue, the theme colour
LEFT = (0xF2, 0xC1, 0x8D)  # warm sand
RIGHT = (0x9F, 0xD0, 0xC7)  # soft teal
OVERLAP = (0xFB, 0xF3, 0xE6)  # pale cream
SAMPLES = 4  # supersampling per axis, for smooth edges


def colour_at(x: float, y: float, *, scale: float, rounded: bool) -> tuple[int, int, int, int]:
    # Coordinates in a 0..1 square; circles shrink for the maskable safe zone.
    if rounded:
        r = 0.18
        cx = min(max(x, r), 1 - r)
        cy = min(max(y, r), 1 - r)
        if (x - cx) ** 2 + (y - cy) ** 2 > r * r:
            return (0, 0, 0, 0)
    radius = 0.22 * scale
    offset = 0.11 * scale
    in_left = (x - (0.5 - offset)) ** 2 + (y - 0.5) ** 2 <= radius**2
    in_right = (x - (0.5 + offset)) ** 2 + (y - 0.5) ** 2 <= radius**2
    if in_left and in_right:
        return (*OVERLAP, 255)
    if in_left:
        return (*LEFT, 255)
    if in_right:
        return (*RIGHT, 255)
    return (*BACKGROUND, 255)


def draw(size: int, *, scale: float, rounded: bool) -> bytes:
    rows = []
    for j in range(size):
        row = bytearray([0])
        for i in range(size):
            acc = [0, 0, 0, 0]
            for sj in range(SAMPLES):
                for si in range(SAMPLES):
                    x = (i + (si + 0.5) / SAMPLES) / size
                    y = (j + (sj + 0.5) / SAMPLES) / size
                    c = colour_at(x, y, scale=scale, rounded=rounded)
                    for k in range(4):
                        acc[k] += c[k]
            row.extend(round(v / SAMPLES**2) for v in acc)
        rows.append(bytes(row))
    return png(size, b"".join(rows))


def png(size: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "icon-192.png").write_bytes(draw(192, scale=1.2, rounded=True))
    (OUT / "icon-512.png").write_bytes(draw(512, scale=1.2, rounded=True))
    # Maskable: full bleed, the motif inside the central 80 % safe zone.
    (OUT / "maskable-512.png").write_bytes(draw(512, scale=1.0, rounded=False))
    (OUT / "apple-touch-icon.png").write_bytes(draw(180, scale=1.0, rounded=False))


if __name__ == "__main__":
    main()
