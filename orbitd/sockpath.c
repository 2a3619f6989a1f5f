/* sockpath.c — see sockpath.h. */
#include "sockpath.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *sockpath_default(void)
{
	uid_t euid = geteuid();
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char *p = NULL;
	int n;

	if (euid == 0 || eaccess("/run/orbitd", W_OK | X_OK) == 0)
		n = asprintf(&p, "%s", SOCKPATH_SYSTEM);
	else if (xdg && xdg[0] == '/')
		n = asprintf(&p, "%s/orbitd/orbitd.sock", xdg);
	else
		n = asprintf(&p, "/tmp/orbitd-%u/orbitd.sock", (unsigned)euid);
	if (n < 0) {
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

static int is_socket(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

char *sockpath_client(void)
{
	char *p = sockpath_default();
	if (!p || is_socket(p) || !is_socket(SOCKPATH_SYSTEM))
		return p;
	free(p);
	p = strdup(SOCKPATH_SYSTEM);
	if (!p)
		errno = ENOMEM;
	return p;
}
