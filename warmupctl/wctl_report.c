/*
 * NAME
 *   wctl_report.c - `warmupctl report --html FILE|-`: gathers the report
 *   (wctl_report_data.c), renders the page (wctl_report_html.c) and writes
 *   it to FILE, or to standard output for "-".
 *
 * DESCRIPTION
 *   FILE is written as FILE.tmp.PID and renamed, so a web server or a mail
 *   job picking the page up never reads half of it.  --html is required:
 *   it names the only format today and leaves room for others.
 */
#include <stdio.h>
#include <string.h>

#include "exitcodes.h"
#include "wctl_cmds.h"
#include "wctl_report.h"

int wctl_report_cmd(struct wctl *w, const struct wctl_args *a)
{
    struct wrep rep;
    struct buf page;
    int rc = PF_EXIT_OK;

    if (a->html == NULL || a->html[0] == '\0') {
        wctl_err("usage: warmupctl report --html FILE|-");
        return PF_EXIT_USAGE;
    }
    if (wctl_report_collect(w, &rep) < 0)
        return w->status ? w->status : PF_EXIT_FAILURE;
    buf_init(&page, 0);
    wctl_report_render_html(&rep, &page);
    if (strcmp(a->html, "-") == 0)
        buf_append(&w->out, page.data, page.len);
    else if (wctl_write_file(a->html, &page) < 0)
        rc = PF_EXIT_FAILURE;
    buf_free(&page);
    wctl_report_free(&rep);
    return rc;
}
