/*
 * policy_script.h - the Lua source of the policy script (policy_script.c).
 */
#ifndef POLICY_SCRIPT_H
#define POLICY_SCRIPT_H

extern const char policy_script_lua[];

#endif
