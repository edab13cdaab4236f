/*
 * The desktop benchmark's eye on the X server (scripts/bench_desktop.py
 * compiles and runs it): it watches the whole screen of an Xvfb and tells
 * when a starting app first showed what it settles on.
 *
 *   bench_desktop_watch SECONDS
 *
 * Prints "ready" once it watches, then, from the moment it is told the app
 * was spawned (a line on stdin holding that moment, CLOCK_MONOTONIC seconds),
 * keeps a small copy of every frame the server shows (8x8 blocks, averaged;
 * a frame is taken on each XDamage report, at most one per 4 ms) for SECONDS
 * seconds. The last frame is the settled one. It prints one JSON line:
 *   first_change_s  the first frame that differs from the empty screen
 *                   (the window appeared)
 *   first_paint_s   the first frame that matches the settled one: at most
 *                   0.5 % of its blocks differ from it by more than 8 levels
 *                   on a channel (a blinking caret, antialiasing)
 *   frames          frames kept, settled_blocks_changed  how much the settled
 *                   frame differs from the empty screen (0 means nothing showed)
 * both in seconds from the spawn. Needs DISPLAY, Damage and MIT-SHM.
 */
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XShm.h>
#include <X11/extensions/Xdamage.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/select.h>
#include <sys/shm.h>
#include <time.h>

#define BLOCK 8
#define MAX_FRAMES 3000
#define LEVELS 8
#define MIN_GAP_S 0.004

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct {
    double t;
    uint8_t *px; /* bw * bh * 3 */
} Frame;

static int bw, bh;

/* Averages the screen into BLOCKxBLOCK blocks, RGB. */
static void shrink(XImage *img, uint8_t *out) {
    for (int by = 0; by < bh; by++) {
        for (int bx = 0; bx < bw; bx++) {
            unsigned long sum[3] = {0, 0, 0};
            int n = 0;
            for (int y = by * BLOCK; y < (by + 1) * BLOCK && y < img->height; y++) {
                const uint32_t *row = (const uint32_t *)(img->data + (size_t)y * img->bytes_per_line);
                for (int x = bx * BLOCK; x < (bx + 1) * BLOCK && x < img->width; x++) {
                    uint32_t p = row[x];
                    sum[0] += (p >> 16) & 0xff;
                    sum[1] += (p >> 8) & 0xff;
                    sum[2] += p & 0xff;
                    n++;
                }
            }
            uint8_t *o = out + ((size_t)by * bw + bx) * 3;
            for (int c = 0; c < 3; c++) o[c] = (uint8_t)(sum[c] / (n ? n : 1));
        }
    }
}

/* How many blocks differ by more than LEVELS on some channel. */
static int differing(const uint8_t *a, const uint8_t *b) {
    int count = 0;
    for (int i = 0; i < bw * bh; i++) {
        for (int c = 0; c < 3; c++) {
            int d = (int)a[i * 3 + c] - (int)b[i * 3 + c];
            if (d > LEVELS || d < -LEVELS) {
                count++;
                break;
            }
        }
    }
    return count;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s SECONDS\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[1]);
    Display *dpy = XOpenDisplay(NULL);
    if (!dpy) {
        fprintf(stderr, "cannot open display\n");
        return 1;
    }
    int dmg_event, dmg_error;
    if (!XDamageQueryExtension(dpy, &dmg_event, &dmg_error) || !XShmQueryExtension(dpy)) {
        fprintf(stderr, "the X server lacks Damage or MIT-SHM\n");
        return 1;
    }
    int screen = DefaultScreen(dpy);
    Window root = RootWindow(dpy, screen);
    int width = DisplayWidth(dpy, screen), height = DisplayHeight(dpy, screen);
    if (DefaultDepth(dpy, screen) != 24) {
        fprintf(stderr, "needs a 24-bit screen\n");
        return 1;
    }
    bw = (width + BLOCK - 1) / BLOCK;
    bh = (height + BLOCK - 1) / BLOCK;

    XShmSegmentInfo shm;
    XImage *img = XShmCreateImage(dpy, DefaultVisual(dpy, screen), 24, ZPixmap, NULL, &shm, width, height);
    shm.shmid = shmget(IPC_PRIVATE, (size_t)img->bytes_per_line * img->height, IPC_CREAT | 0600);
    shm.shmaddr = img->data = shmat(shm.shmid, NULL, 0);
    shm.readOnly = False;
    XShmAttach(dpy, &shm);
    shmctl(shm.shmid, IPC_RMID, NULL);
    XDamageCreate(dpy, root, XDamageReportNonEmpty);
    XSync(dpy, False);

    size_t frame_bytes = (size_t)bw * bh * 3;
    uint8_t *empty = malloc(frame_bytes);
    XShmGetImage(dpy, root, img, 0, 0, AllPlanes);
    shrink(img, empty);

    printf("ready\n");
    fflush(stdout);
    double spawned;
    if (scanf("%lf", &spawned) != 1) {
        fprintf(stderr, "expected the spawn time on stdin\n");
        return 2;
    }

    Frame *frames = calloc(MAX_FRAMES, sizeof(Frame));
    int kept = 0;
    uint8_t *scratch = malloc(frame_bytes);
    double last = 0, until = spawned + seconds;
    int fd = ConnectionNumber(dpy);
    int pending_damage = 1; /* take one frame at once: the app may already have drawn */
    for (;;) {
        double t = now();
        if (t >= until) break;
        while (XPending(dpy)) {
            XEvent ev;
            XNextEvent(dpy, &ev);
            if (ev.type == dmg_event + XDamageNotify) {
                XDamageSubtract(dpy, ((XDamageNotifyEvent *)&ev)->damage, None, None);
                pending_damage = 1;
            }
        }
        if (pending_damage && t - last >= MIN_GAP_S) {
            pending_damage = 0;
            last = t;
            XShmGetImage(dpy, root, img, 0, 0, AllPlanes);
            double taken = now();
            shrink(img, scratch);
            if (kept == 0 || memcmp(scratch, frames[kept - 1].px, frame_bytes) != 0) {
                if (kept == MAX_FRAMES) {
                    /* Keep the first half (start-up) and the latest frames. */
                    free(frames[MAX_FRAMES / 2].px);
                    memmove(&frames[MAX_FRAMES / 2], &frames[MAX_FRAMES / 2 + 1],
                            (MAX_FRAMES / 2 - 1) * sizeof(Frame));
                    kept--;
                }
                frames[kept].t = taken;
                frames[kept].px = malloc(frame_bytes);
                memcpy(frames[kept].px, scratch, frame_bytes);
                kept++;
            }
            continue;
        }
        fd_set set;
        FD_ZERO(&set);
        FD_SET(fd, &set);
        double wait = pending_damage ? MIN_GAP_S - (t - last) : until - t;
        if (wait < 0) wait = 0;
        struct timeval tv = {(long)wait, (long)((wait - (long)wait) * 1e6)};
        select(fd + 1, &set, NULL, NULL, &tv);
    }

    int blocks = bw * bh, tolerance = blocks / 200;
    double first_change = -1, first_paint = -1;
    const uint8_t *settled = kept ? frames[kept - 1].px : empty;
    /* BENCH_DESKTOP_FRAMES=1: every frame kept, with how far it is from the settled one (to stderr). */
    int trace = getenv("BENCH_DESKTOP_FRAMES") != NULL;
    for (int i = 0; i < kept; i++) {
        if (trace)
            fprintf(stderr, "frame %.4f s: %d blocks from the settled frame\n", frames[i].t - spawned,
                    differing(frames[i].px, settled));
        if (first_change < 0 && differing(frames[i].px, empty) > 0) first_change = frames[i].t - spawned;
        if (first_paint < 0 && differing(frames[i].px, settled) <= tolerance) first_paint = frames[i].t - spawned;
    }
    printf("{\"first_change_s\": %.4f, \"first_paint_s\": %.4f, \"frames\": %d, \"settled_blocks_changed\": %d, "
           "\"blocks\": %d}\n",
           first_change, first_paint, kept, differing(settled, empty), blocks);
    fflush(stdout);
    XShmDetach(dpy, &shm);
    XCloseDisplay(dpy);
    return 0;
}
