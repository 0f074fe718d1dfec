/*
 * bounce_proc_main.c - bounce-proc: the pipe command for delivery status notifications and non-standard bounces.
 *
 * SYNOPSIS
 *	bounce-proc [-c FILE] [--dry-run] [--json] [ENVELOPE ARGS]   (see man/bounce-proc.8)
 */
#include "bounce_parse.h"
#include "inbound_driver.h"

int main(int argc, char **argv)
{
    static const struct inbound_program program = {
        .name = "bounce-proc",
        .section = "bounce",
        .parse = bounce_parse,
    };
    return inbound_main(argc, argv, &program);
}
