"""Draws Familiar's app icon (a round familiar with two eyes, on a violet
gradient) as PNG files for the desktop bundle, with no image library:
src-tauri/icons/{32x32,128x128,128x128@2x,icon}.png. Run from the repo root."""
import math
import os
import struct
import zlib


def png(path, size, pixel):
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            row.extend(pixel(x + 0.5, y + 0.5, size))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)))
        f.write(chunk(b"IDAT", raw))
        f.write(chunk(b"IEND", b""))


def mix(a, b, t):
    return tuple(round(a[i] + (b[i] - a[i]) * t) for i in range(3))


def pixel(x, y, size):
    u, v = x / size, y / size
    # A rounded square with a diagonal violet gradient.
    r = 0.22
    dx, dy = max(abs(u - 0.5) - (0.5 - r), 0), max(abs(v - 0.5) - (0.5 - r), 0)
    inside = math.hypot(dx, dy) <= r
    if not inside:
        return (0, 0, 0, 0)
    colour = mix((124, 77, 255), (56, 189, 248), (u + v) / 2)
    # The familiar: a soft round head with two ears.
    head = math.hypot(u - 0.5, (v - 0.56) * 1.08) < 0.28
    ear = lambda cx: (abs(u - cx) * 1.6 + (0.36 - v)) < 0.09 and v > 0.2 and v < 0.36
    if head or ear(0.33) or ear(0.67):
        colour = (250, 248, 255)
        # Eyes.
        for cx in (0.41, 0.59):
            if math.hypot((u - cx) * 1.3, v - 0.55) < 0.045:
                colour = (40, 24, 90)
    return colour + (255,)


out = os.path.join("src-tauri", "icons")
os.makedirs(out, exist_ok=True)
for name, size in [("32x32.png", 32), ("128x128.png", 128), ("128x128@2x.png", 256), ("icon.png", 512)]:
    png(os.path.join(out, name), size, pixel)
    print(os.path.join(out, name))
