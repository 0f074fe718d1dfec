/*
 * tap_replay.c - placeholder until the replay lands.
 */
#include "tap_replay.h"

int tap_replay_files(const struct tap_rules *rules, const struct reply_rules *classifier,
                     const struct tap_provider *tp, const struct tap_replay_opts *opts,
                     char **files, size_t nfiles, FILE *out)
{
    (void)rules; (void)classifier; (void)tp; (void)opts; (void)files; (void)nfiles; (void)out;
    return -1;
}
