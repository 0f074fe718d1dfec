/*
 * spawn_latency.c - times a pipe command the way an MTA's pipe delivery
 * agent runs it: fork and exec from a small process, the message written to
 * the child's stdin, wait for its exit.
 *
 * USAGE
 *	spawn_latency -n RUNS -m MESSAGE_FILE -- COMMAND [ARGS...]
 *
 * DESCRIPTION
 *	Every occurrence of "@@N@@" in the message is replaced by the run's
 *	number, so each run is a different message (a different returned
 *	Message-ID: the command does its whole work, not a duplicate's short
 *	cut).  Prints one line:
 *	    spawn runs=N p50_ms=.. p99_ms=.. max_ms=.. failed=K
 *	A run whose exit status is not 0 counts as failed.  Python's
 *	subprocess adds its own fork and pipe handling to every run; this is
 *	the cost Postfix's pipe(8) pays.
 *
 * OWNERSHIP
 *	Benchmark only; all memory is freed at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    size_t got;
    while (b != NULL && (got = fread(b + n, 1, cap - n, fp)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(b, cap * 2);
            if (nb == NULL) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
    }
    fclose(fp);
    *len = n;
    return b;
}

/* The message of run `i`: "@@N@@" replaced by i.  Returns its length. */
static size_t render(const char *tpl, size_t len, int i, char *out, size_t outsize)
{
    size_t o = 0;
    for (size_t k = 0; k < len && o + 16 < outsize;) {
        if (len - k >= 5 && memcmp(tpl + k, "@@N@@", 5) == 0) {
            o += (size_t)snprintf(out + o, outsize - o, "%d", i);
            k += 5;
        } else {
            out[o++] = tpl[k++];
        }
    }
    return o;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int run_once(char **argv, const char *msg, size_t len)
{
    int fd[2];
    if (pipe(fd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fd[0], 0);
        close(fd[0]);
        close(fd[1]);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd[0]);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd[1], msg + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fd[1]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(int argc, char **argv)
{
    int runs = 1000, opt;
    const char *msgfile = NULL;
    while ((opt = getopt(argc, argv, "n:m:")) != -1) {
        if (opt == 'n')
            runs = atoi(optarg);
        else if (opt == 'm')
            msgfile = optarg;
        else
            return 2;
    }
    if (msgfile == NULL || optind >= argc || runs < 1) {
        fprintf(stderr, "usage: spawn_latency -n RUNS -m MESSAGE_FILE -- COMMAND [ARGS...]\n");
        return 2;
    }
    size_t tlen;
    char *tpl = read_all(msgfile, &tlen);
    if (tpl == NULL) {
        fprintf(stderr, "spawn_latency: cannot read %s\n", msgfile);
        return 2;
    }
    size_t cap = tlen + 4096;
    char *msg = malloc(cap);
    double *t = calloc((size_t)runs, sizeof(*t));
    if (msg == NULL || t == NULL)
        return 2;
    int failed = 0;
    for (int i = 0; i < runs; i++) {
        size_t len = render(tpl, tlen, i, msg, cap);
        double a = now_ms();
        failed += run_once(argv + optind, msg, len) != 0;
        t[i] = now_ms() - a;
    }
    qsort(t, (size_t)runs, sizeof(*t), cmp);
    int i99 = (int)(0.99 * runs);
    if (i99 >= runs)
        i99 = runs - 1;
    printf("spawn runs=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f failed=%d\n", runs, t[runs / 2], t[i99], t[runs - 1],
           failed);
    free(t);
    free(msg);
    free(tpl);
    return failed ? 1 : 0;
}
