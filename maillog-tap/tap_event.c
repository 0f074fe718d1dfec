/*
 * tap_event.c - names of the event enums (see tap_event.h).
 */
#include "tap_event.h"

const char *tap_status_name(enum tap_status st)
{
    switch (st) {
    case TAP_STATUS_SENT: return "sent";
    case TAP_STATUS_DEFERRED: return "deferred";
    case TAP_STATUS_BOUNCED: return "bounced";
    default: return "none";
    }
}

const char *tap_kind_name(enum tap_kind kind)
{
    switch (kind) {
    case TAP_LINE_OUTCOME: return "outcome";
    case TAP_LINE_REPEAT: return "repeat";
    case TAP_LINE_LOCAL: return "local";
    default: return "other";
    }
}
