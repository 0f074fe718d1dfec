/*
 * policy_script.h - the Lua sources of the policy scripts (policy_script.c).
 */
#ifndef POLICY_SCRIPT_H
#define POLICY_SCRIPT_H

extern const char policy_script_lua[]; /* END-OF-MESSAGE */
extern const char policy_rcpt_lua[];   /* RCPT */

#endif
