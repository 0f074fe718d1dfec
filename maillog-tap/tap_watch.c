/*
 * tap_watch.c - the --follow loop (see tap_watch.h).
 */
#include "tap_watch.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "tap_follow.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct feed {
    struct tap_replay *r;
    FILE *out;
};

static void feed_line(const char *line, size_t len, void *ctx)
{
    struct feed *f = ctx;
    tap_replay_line(f->r, line, len, (long long)time(NULL), f->out);
}

static int save(const struct tap_follow *f, const char *checkpoint)
{
    char err[512];
    struct tap_checkpoint cp;
    if (checkpoint == NULL)
        return 0;
    tap_follow_checkpoint(f, &cp);
    if (tap_checkpoint_save(checkpoint, &cp, err, sizeof(err)) < 0) {
        fprintf(stderr, "maillog-tap: checkpoint: %s\n", err);
        return -1;
    }
    return 0;
}

/* Everything read so far is accounted for (no sink, or the sink stored it all). */
static bool drained(const struct tap_watch_sink *sink)
{
    return sink == NULL || sink->drain(sink->ctx) == 0;
}

int tap_watch(struct tap_replay *r, const char *path, const char *checkpoint, bool from_start, int interval_ms,
              FILE *out, const struct tap_watch_sink *sink)
{
    char err[512];
    struct tap_checkpoint cp;
    bool have_cp = false;
    if (checkpoint != NULL) {
        if (tap_checkpoint_load(checkpoint, &cp, err, sizeof(err)) == 0)
            have_cp = true;
        else if (errno != ENOENT) {
            fprintf(stderr, "maillog-tap: %s\n", err);
            return -1;
        }
    }
    struct tap_follow *f = tap_follow_open(path, have_cp ? &cp : NULL, from_start, err, sizeof(err));
    if (f == NULL) {
        fprintf(stderr, "maillog-tap: %s\n", err);
        return -1;
    }
    if (tap_follow_lost_rotation(f))
        fprintf(stderr, "maillog-tap: %s: the checkpoint's file is gone (rotated twice?): reading from the start\n",
                path);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct feed feed = { r, out };
    int rc = 0;
    struct timespec pause = { interval_ms / 1000, (long)(interval_ms % 1000) * 1000000L };
    bool pending = false; /* lines read whose effects are not all stored yet */
    while (!stop_requested) {
        long n = 0;
        if (sink == NULL || !sink->full(sink->ctx))
            n = tap_follow_poll(f, feed_line, &feed, err, sizeof(err));
        if (n < 0) {
            fprintf(stderr, "maillog-tap: %s\n", err);
            rc = -1;
            break;
        }
        if (n > 0) {
            tap_replay_flush(r, out);
            fflush(out);
            pending = true;
        }
        if (pending && drained(sink)) {
            pending = false;
            if (save(f, checkpoint) < 0) {
                rc = -1;
                break;
            }
        }
        nanosleep(&pause, NULL);
    }
    tap_replay_flush(r, out);
    fflush(out);
    if (!pending || drained(sink)) {
        if (save(f, checkpoint) < 0)
            rc = -1;
    } else {
        fprintf(stderr, "maillog-tap: effects not stored in Redis: the checkpoint stays before their lines\n");
    }
    tap_replay_summary(r, 1, out);
    fflush(out);
    tap_follow_close(f);
    return rc;
}
