/*
 * redis_script.c - SHA-1 naming and NOSCRIPT recognition of Lua scripts
 * (see redis_script.h).
 */
#include <openssl/evp.h>
#include <string.h>

#include "redis_script.h"

void redis_script_init(struct redis_script *script)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0, i;

    EVP_Digest(script->body, strlen(script->body), md, &mdlen, EVP_sha1(), NULL);
    for (i = 0; i < mdlen && i < 20; i++) {
        script->sha[2 * i] = hex[md[i] >> 4];
        script->sha[2 * i + 1] = hex[md[i] & 15];
    }
    script->sha[40] = '\0';
}

int redis_script_is_noscript(const redisReply *reply)
{
    return reply != NULL && reply->type == REDIS_REPLY_ERROR && reply->str != NULL && reply->len >= 8 &&
           strncmp(reply->str, "NOSCRIPT", 8) == 0;
}
