/* uuid.h — random UUID4 strings and tokens (internal): input topics,
 * envelope ids, the random tails of per-connection topics. */
#ifndef ORBIT_UUID_H
#define ORBIT_UUID_H

#define ORBIT_UUID_STRLEN 36

/* Write a random RFC 4122 version-4 UUID, lowercase, NUL-terminated, into out. */
void orbit_uuid4(char out[ORBIT_UUID_STRLEN + 1]);

#define ORBIT_TOKEN_STRLEN 22

/* Write 128 random bits as 22 characters of [A-Za-z0-9_-] (base64url, no
 * padding), NUL-terminated, into out: legal in any MQTT topic level, and
 * 14 bytes shorter than a UUID in every topic a connection keeps. */
void orbit_random_token(char out[ORBIT_TOKEN_STRLEN + 1]);

#endif
