/*
 * maillog_tap_main.c - maillog-tap: the delivery-log follower (first cut).
 *
 * SYNOPSIS
 *	maillog-tap --dry-run --json [--from-start] FILE...
 */
#include <stdio.h>

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "maillog-tap: not built yet\n");
    return 64;
}
