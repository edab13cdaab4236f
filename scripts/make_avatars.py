#!/usr/bin/env python3
"""Draw the avatars of the bundled sample agents.

Writes one 256x256 RGB PNG per agent to
    agents/<slug>/assets/icon/images/main.png

Standard library only (no PIL): shapes are described as signed distance
functions and rasterised with one-pixel anti-aliasing, then the image is
encoded by hand (IHDR + IDAT + IEND, no ancillary chunks). The output is
deterministic: running the script twice produces byte-identical files.

Usage:
    python3 scripts/make_avatars.py [--out-root DIR]
"""

import argparse
import math
import os
import struct
import zlib

SIZE = 256
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --------------------------------------------------------------------------
# Small maths helpers
# --------------------------------------------------------------------------

def rgb(hex_code):
    hex_code = hex_code.lstrip("#")
    return tuple(int(hex_code[i:i + 2], 16) / 255.0 for i in (0, 2, 4))


def clamp(v, lo=0.0, hi=1.0):
    return lo if v < lo else hi if v > hi else v


def mix(a, b, t):
    return tuple(x + (y - x) * t for x, y in zip(a, b))


def smoothstep(e0, e1, x):
    t = clamp((x - e0) / (e1 - e0))
    return t * t * (3.0 - 2.0 * t)


def gradient(stops, t):
    """Piecewise-linear colour ramp; stops = [(pos, colour), ...] sorted."""
    t = clamp(t)
    for (p0, c0), (p1, c1) in zip(stops, stops[1:]):
        if t <= p1:
            return mix(c0, c1, smoothstep(p0, p1, t) if p1 > p0 else 1.0)
    return stops[-1][1]


# --------------------------------------------------------------------------
# Signed distance functions (negative inside, in pixels)
# --------------------------------------------------------------------------

def sd_circle(cx, cy, r):
    return lambda x, y: math.hypot(x - cx, y - cy) - r


def sd_round_box(cx, cy, hw, hh, r):
    def f(x, y):
        qx = abs(x - cx) - hw + r
        qy = abs(y - cy) - hh + r
        outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
        return outside + min(max(qx, qy), 0.0) - r
    return f


def sd_box(cx, cy, hw, hh):
    return sd_round_box(cx, cy, hw, hh, 0.0)


def sd_capsule(ax, ay, bx, by, r):
    dx, dy = bx - ax, by - ay
    dd = dx * dx + dy * dy

    def f(x, y):
        px, py = x - ax, y - ay
        h = clamp((px * dx + py * dy) / dd) if dd else 0.0
        return math.hypot(px - dx * h, py - dy * h) - r
    return f


def sd_polyline(points, r):
    segs = [sd_capsule(a[0], a[1], b[0], b[1], r) for a, b in zip(points, points[1:])]
    return lambda x, y: min(s(x, y) for s in segs)


def sd_polygon(points):
    """Exact signed distance to a simple polygon (after Inigo Quilez)."""
    n = len(points)

    def f(x, y):
        d = (x - points[0][0]) ** 2 + (y - points[0][1]) ** 2
        s = 1.0
        j = n - 1
        for i in range(n):
            vix, viy = points[i]
            vjx, vjy = points[j]
            ex, ey = vjx - vix, vjy - viy
            wx, wy = x - vix, y - viy
            h = clamp((wx * ex + wy * ey) / (ex * ex + ey * ey))
            bx, by = wx - ex * h, wy - ey * h
            d = min(d, bx * bx + by * by)
            c1 = y >= viy
            c2 = y < vjy
            c3 = ex * wy > ey * wx
            if (c1 and c2 and c3) or (not c1 and not c2 and not c3):
                s = -s
            j = i
        return s * math.sqrt(d)
    return f


def star_points(cx, cy, r_outer, r_inner, n=5, rotation=-90.0):
    pts = []
    for k in range(2 * n):
        r = r_outer if k % 2 == 0 else r_inner
        a = math.radians(rotation + k * 180.0 / n)
        pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
    return pts


def sd_ellipse_ring(cx, cy, a, b, angle_deg, width):
    """Thin ring along a rotated ellipse; also returns the minor-axis coordinate."""
    ca, sa = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))

    def local(x, y):
        dx, dy = x - cx, y - cy
        return dx * ca + dy * sa, -dx * sa + dy * ca

    def ring(x, y):
        u, v = local(x, y)
        k0 = math.hypot(u / a, v / b)
        k1 = math.hypot(u / (a * a), v / (b * b))
        d = k0 * (k0 - 1.0) / k1 if k1 else -min(a, b)
        return abs(d) - width / 2.0

    return ring, local


def sd_union(*fs):
    return lambda x, y: min(f(x, y) for f in fs)


def sd_subtract(a, b):
    return lambda x, y: max(a(x, y), -b(x, y))


def sd_intersect(a, b):
    return lambda x, y: max(a(x, y), b(x, y))


def sd_offset(f, dx=0.0, dy=0.0, grow=0.0):
    return lambda x, y: f(x - dx, y - dy) - grow


# --------------------------------------------------------------------------
# Canvas
# --------------------------------------------------------------------------

class Canvas:
    def __init__(self, size=SIZE):
        self.size = size
        n = size * size
        self.r = [0.0] * n
        self.g = [0.0] * n
        self.b = [0.0] * n

    def paint(self, colour_fn):
        """Fill every pixel with colour_fn(x, y)."""
        s = self.size
        for y in range(s):
            for x in range(s):
                c = colour_fn(x + 0.5, y + 0.5)
                i = y * s + x
                self.r[i], self.g[i], self.b[i] = c

    def fill(self, sdf, colour, alpha=1.0, soft=1.0, bbox=None):
        """Composite a shape. colour may be an (r,g,b) tuple or f(x,y)->(r,g,b).

        soft is the width of the edge ramp in pixels: 1.0 gives crisp
        anti-aliased edges, larger values give glows and shadows.
        """
        s = self.size
        x0, y0, x1, y1 = bbox if bbox else (0, 0, s, s)
        x0, y0 = max(0, int(x0)), max(0, int(y0))
        x1, y1 = min(s, int(math.ceil(x1))), min(s, int(math.ceil(y1)))
        dynamic = callable(colour)
        for y in range(y0, y1):
            py = y + 0.5
            row = y * s
            for x in range(x0, x1):
                px = x + 0.5
                d = sdf(px, py)
                cov = clamp(0.5 - d / soft)
                if cov <= 0.0:
                    continue
                a = cov * alpha
                cr, cg, cb = colour(px, py) if dynamic else colour
                i = row + x
                self.r[i] += (cr - self.r[i]) * a
                self.g[i] += (cg - self.g[i]) * a
                self.b[i] += (cb - self.b[i]) * a

    def to_png(self):
        # 4x4 ordered dither keeps the soft gradients free of banding
        # while staying fully deterministic.
        bayer = (0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5)
        s = self.size
        raw = bytearray()
        for y in range(s):
            raw.append(0)  # filter type: None
            for x in range(s):
                i = y * s + x
                dith = (bayer[(y & 3) * 4 + (x & 3)] + 0.5) / 16.0
                for ch in (self.r, self.g, self.b):
                    raw.append(int(clamp(ch[i]) * 255.0 + dith) if ch[i] < 1.0 else 255)
        return encode_png(s, s, bytes(raw))


def _chunk(tag, data):
    body = tag + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def encode_png(width, height, raw_scanlines):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", ihdr)
            + _chunk(b"IDAT", zlib.compress(raw_scanlines, 9))
            + _chunk(b"IEND", b""))


def bbox_around(cx, cy, rx, ry=None):
    ry = rx if ry is None else ry
    return (cx - rx, cy - ry, cx + rx + 1, cy + ry + 1)


def radial_background(inner, outer, centre, radius):
    cx, cy = centre

    def f(x, y):
        t = math.hypot(x - cx, y - cy) / radius
        return mix(inner, outer, smoothstep(0.0, 1.0, t))
    return f


# --------------------------------------------------------------------------
# Lena: two speech bubbles, an Ñ and an ellipsis (conversation practice)
# --------------------------------------------------------------------------

def draw_lena():
    c = Canvas()
    bg = radial_background(rgb("#F9B48A"), rgb("#B9472F"), (100, 84), 230)
    c.paint(bg)

    ink = rgb("#B4432C")
    shadow = rgb("#6E2416")

    big = sd_union(
        sd_round_box(114, 106, 66, 50, 26),
        sd_polygon([(72, 140), (104, 150), (62, 184)]),
    )
    small = sd_union(
        sd_round_box(168, 172, 44, 29, 22),
        sd_polygon([(172, 192), (200, 192), (204, 218)]),
    )

    # Soft drop shadows.
    c.fill(sd_offset(big, 3, 7), shadow, alpha=0.30, soft=12, bbox=(20, 40, 210, 215))
    c.fill(sd_offset(small, 3, 7), shadow, alpha=0.30, soft=12, bbox=(100, 120, 240, 240))

    # Large cream bubble with the letter Ñ.
    c.fill(big, rgb("#FFF5E6"), bbox=(40, 50, 190, 190))
    stroke = 6.0
    letter = sd_union(
        sd_capsule(94, 138, 94, 92, stroke),
        sd_capsule(94, 92, 134, 138, stroke),
        sd_capsule(134, 138, 134, 92, stroke),
    )
    tilde = sd_polyline(
        [(96 + 36 * t / 16.0, 76 - 5.5 * math.sin(2 * math.pi * t / 16.0)) for t in range(17)],
        4.2,
    )
    c.fill(sd_union(letter, tilde), ink, bbox=(82, 62, 146, 150))

    # Small saffron bubble, cut out of the big one by a thin gap of background.
    c.fill(sd_offset(small, grow=5), bg, bbox=(115, 135, 220, 230))
    c.fill(small, rgb("#FFC845"), bbox=(120, 140, 215, 222))
    for dx in (-18, 0, 18):
        c.fill(sd_circle(168 + dx, 172, 5.5), ink, bbox=bbox_around(168 + dx, 172, 8))
    return c


# --------------------------------------------------------------------------
# Orbit: a ringed planet with a little satellite (support that circles back)
# --------------------------------------------------------------------------

def lcg(seed):
    state = seed & 0xFFFFFFFF
    while True:
        state = (1664525 * state + 1013904223) & 0xFFFFFFFF
        yield state / 4294967296.0


def draw_orbit():
    c = Canvas()
    bg = radial_background(rgb("#4257B5"), rgb("#111735"), (128, 118), 200)
    c.paint(bg)

    # A scatter of faint stars, kept away from the planet.
    rnd = lcg(7)
    placed = 0
    while placed < 34:
        x, y = 12 + next(rnd) * 232, 12 + next(rnd) * 232
        r = 0.7 + next(rnd) * 1.1
        a = 0.35 + next(rnd) * 0.55
        if math.hypot(x - 128, y - 128) < 82:
            continue
        c.fill(sd_circle(x, y, r), rgb("#FFFFFF"), alpha=a, bbox=bbox_around(x, y, 4))
        placed += 1

    cx, cy, pr = 128.0, 128.0, 52.0
    ring, local = sd_ellipse_ring(cx, cy, 98, 27, -20, 7.5)
    ring_col = rgb("#FFD27A")
    ring_bbox = (20, 60, 236, 196)

    # Glow behind the planet, then the full ring (its back half shows
    # only where the planet does not cover it).
    c.fill(sd_circle(cx, cy, pr), rgb("#7FE3D8"), alpha=0.35, soft=36, bbox=bbox_around(cx, cy, 110))
    c.fill(ring, ring_col, bbox=ring_bbox)

    light = rgb("#A6F0E4")
    dark = rgb("#1F6F8A")

    def planet_colour(x, y):
        t = ((x - cx) * 0.55 + (y - cy) * 0.83) / pr * 0.5 + 0.5
        return gradient([(0.0, light), (0.55, rgb("#4FB8C0")), (1.0, dark)], t)

    planet = sd_circle(cx, cy, pr)
    c.fill(planet, planet_colour, bbox=bbox_around(cx, cy, pr + 2))
    # Two soft cloud bands across the planet.
    for off, a in ((-14, 0.22), (16, 0.16)):
        band = sd_intersect(planet, sd_capsule(cx - 80, cy + off + 14, cx + 80, cy + off - 14, 5.0))
        c.fill(band, rgb("#FFFFFF"), alpha=a, soft=3, bbox=bbox_around(cx, cy, pr + 2))

    # Front half of the ring passes over the planet.
    front = sd_intersect(ring, lambda x, y: -local(x, y)[1])
    c.fill(front, ring_col, bbox=ring_bbox)
    # Thin shadow the ring casts on the planet, just above its front edge.
    ring_shadow = sd_intersect(
        sd_intersect(sd_offset(ring, 0, -7), planet),
        lambda x, y: -local(x, y)[1] + 4,
    )
    c.fill(ring_shadow, rgb("#103A55"), alpha=0.35, soft=2, bbox=ring_bbox)

    # Satellite riding the ring.
    theta = math.radians(152)
    ca, sa = math.cos(math.radians(-20)), math.sin(math.radians(-20))
    u, v = 98 * math.cos(theta), 27 * math.sin(theta)
    sx, sy = cx + u * ca - v * sa, cy + u * sa + v * ca
    c.fill(sd_circle(sx, sy, 7), rgb("#FFFFFF"), alpha=0.55, soft=12, bbox=bbox_around(sx, sy, 20))
    c.fill(sd_circle(sx, sy, 7.5), rgb("#FFFFFF"), bbox=bbox_around(sx, sy, 10))
    c.fill(sd_circle(sx - 2, sy - 2, 2.2), rgb("#FFE9B8"), bbox=bbox_around(sx, sy, 10))
    return c


# --------------------------------------------------------------------------
# Bram: crescent moon and stars over the hills, a lit cottage window
# --------------------------------------------------------------------------

def draw_bram():
    c = Canvas()
    sky = [
        (0.00, rgb("#22295A")),
        (0.45, rgb("#5B4A82")),
        (0.78, rgb("#D98A6A")),
        (1.00, rgb("#F4C07A")),
    ]

    def sky_colour(x, y):
        return gradient(sky, y / 205.0)

    c.paint(sky_colour)

    # Moon with a halo.
    mx, my = 158.0, 78.0
    moon = sd_subtract(sd_circle(mx, my, 32), sd_circle(mx + 15, my - 11, 28))
    c.fill(sd_circle(mx, my, 24), rgb("#FFF3C4"), alpha=0.16, soft=70, bbox=bbox_around(mx, my, 110))
    c.fill(moon, rgb("#FFF1C2"), bbox=bbox_around(mx, my, 36))

    star_col = rgb("#FFE7A0")
    for sx, sy, r, rot in ((70, 58, 10.0, -90), (104, 96, 6.0, -80), (204, 128, 6.5, -100),
                           (46, 112, 4.5, -90), (214, 52, 4.0, -95)):
        pts = star_points(sx, sy, r, r * 0.45, rotation=rot)
        c.fill(sd_circle(sx, sy, r * 0.5), star_col, alpha=0.35, soft=r * 1.6,
               bbox=bbox_around(sx, sy, r * 3))
        c.fill(sd_polygon(pts), star_col, bbox=bbox_around(sx, sy, r + 2))

    # Rolling hills.
    back_hill = sd_circle(70, 352, 168)
    c.fill(back_hill, rgb("#4E7A57"), bbox=(0, 170, 256, 256))

    # Cottage on the back hill.
    hx, hy = 86.0, 186.0  # centre of the house body
    body = sd_box(hx, hy, 20, 15)
    roof = sd_polygon([(hx - 27, hy - 13), (hx, hy - 36), (hx + 27, hy - 13)])
    chimney = sd_box(hx + 14, hy - 30, 4, 9)
    house = sd_union(body, roof, chimney)
    c.fill(sd_offset(house, 2, 3), rgb("#1E3326"), alpha=0.35, soft=5, bbox=bbox_around(hx, hy, 40))
    c.fill(chimney, rgb("#5A3B35"), bbox=bbox_around(hx + 14, hy - 30, 6, 11))
    c.fill(body, rgb("#EAD7B6"), bbox=bbox_around(hx, hy, 22, 17))
    c.fill(roof, rgb("#8E4B3E"), bbox=bbox_around(hx, hy - 24, 30, 14))
    c.fill(sd_box(hx - 6, hy + 4, 5, 10), rgb("#6B4A3A"), bbox=bbox_around(hx - 6, hy + 4, 7, 12))
    wx, wy = hx + 9, hy - 1
    c.fill(sd_box(wx, wy, 6, 6), rgb("#FFC94D"), alpha=0.6, soft=14, bbox=bbox_around(wx, wy, 30))
    c.fill(sd_round_box(wx, wy, 6, 6, 1.5), rgb("#FFD766"), bbox=bbox_around(wx, wy, 8))
    c.fill(sd_union(sd_box(wx, wy, 0.8, 6), sd_box(wx, wy, 6, 0.8)), rgb("#A8652F"),
           bbox=bbox_around(wx, wy, 8))
    # Curl of chimney smoke.
    smoke = sd_polyline([(hx + 14 + 5 * math.sin(t / 3.0), hy - 42 - t * 2.2) for t in range(11)], 2.4)
    c.fill(smoke, rgb("#E9E2F0"), alpha=0.45, soft=2.5, bbox=bbox_around(hx + 14, hy - 55, 12, 20))

    # Front hill, and a few fireflies drifting over the grass.
    front_hill = sd_circle(216, 372, 170)
    c.fill(front_hill, rgb("#2F5540"), bbox=(40, 195, 256, 256))
    for fx, fy, r in ((150, 222, 2.0), (178, 206, 1.6), (206, 230, 2.2), (128, 240, 1.5),
                      (226, 200, 1.4), (40, 226, 1.7)):
        c.fill(sd_circle(fx, fy, r), rgb("#FFE27A"), alpha=0.45, soft=7, bbox=bbox_around(fx, fy, 12))
        c.fill(sd_circle(fx, fy, r), rgb("#FFF4B8"), bbox=bbox_around(fx, fy, 4))
    return c


def draw_ada():
    c = Canvas()
    bg = [(0.00, rgb("#0E2A1F")), (1.00, rgb("#1F5A3F"))]
    c.paint(lambda x, y: gradient(bg, (x + y) / 512.0))
    # Faint scan lines of an old terminal.
    for row in range(12, 256, 16):
        c.fill(sd_box(128, row, 128, 0.6), rgb("#5CFF9D"), alpha=0.06, bbox=(0, row - 2, 256, row + 2))
    # An open book, two pages and a spine.
    left = sd_polygon([(36, 92), (124, 104), (124, 200), (36, 188)])
    right = sd_polygon([(132, 104), (220, 92), (220, 188), (132, 200)])
    c.fill(sd_offset(sd_union(left, right), 3, 4), rgb("#06140E"), alpha=0.45, soft=6, bbox=(20, 80, 236, 216))
    c.fill(left, rgb("#F1E9D2"), bbox=(30, 86, 130, 206))
    c.fill(right, rgb("#F7F0DC"), bbox=(126, 86, 226, 206))
    c.fill(sd_box(128, 150, 4, 50), rgb("#7A5230"), bbox=(120, 96, 136, 204))
    # Lines of text on each page.
    for i in range(6):
        y = 120 + i * 12
        c.fill(sd_capsule(48, y, 112, y + 7, 1.6), rgb("#3B4A42"), bbox=(40, y - 6, 120, y + 12))
        c.fill(sd_capsule(144, y + 7, 208, y, 1.6), rgb("#3B4A42"), bbox=(136, y - 6, 216, y + 12))
    # A glowing cursor over the book.
    c.fill(sd_box(128, 56, 9, 14), rgb("#5CFF9D"), alpha=0.35, soft=18, bbox=bbox_around(128, 56, 40))
    c.fill(sd_box(128, 56, 7, 12), rgb("#7DFFB3"), bbox=bbox_around(128, 56, 10, 14))
    return c


AGENTS = {
    "lena": draw_lena,
    "orbit": draw_orbit,
    "bram": draw_bram,
    "ada": draw_ada,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out-root", default=os.path.join(REPO_ROOT, "agents"),
                    help="directory holding the <slug>/ agent folders")
    args = ap.parse_args()
    for slug, draw in AGENTS.items():
        path = os.path.join(args.out_root, slug, "assets", "icon", "images", "main.png")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = draw().to_png()
        with open(path, "wb") as fh:
            fh.write(data)
        print(f"wrote {os.path.relpath(path, REPO_ROOT)} ({len(data)} bytes)")


if __name__ == "__main__":
    main()
