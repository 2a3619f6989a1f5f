/* uuid.h — random UUID4 strings (internal): input topics and envelope ids. */
#ifndef ORBIT_UUID_H
#define ORBIT_UUID_H

#define ORBIT_UUID_STRLEN 36

/* Write a random RFC 4122 version-4 UUID, lowercase, NUL-terminated, into out. */
void orbit_uuid4(char out[ORBIT_UUID_STRLEN + 1]);

#endif
