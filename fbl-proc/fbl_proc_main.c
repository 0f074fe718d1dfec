/*
 * fbl_proc_main.c - fbl-proc: the pipe command for feedback-loop reports (ARF and provider formats).
 *
 * SYNOPSIS
 *	fbl-proc [-c FILE] [--dry-run] [--json] [ENVELOPE ARGS]   (see man/fbl-proc.8)
 */
#include "fbl_parse.h"
#include "inbound_driver.h"

int main(int argc, char **argv)
{
    static const struct inbound_program program = {
        .name = "fbl-proc",
        .section = "fbl",
        .parse = fbl_parse,
    };
    return inbound_main(argc, argv, &program);
}
