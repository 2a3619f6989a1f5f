/* nodelay_shim — LD_PRELOAD diagnostic for bench_run only: sets TCP_NODELAY
 * on every TCP socket a process connects, to show what libmosquitto's default
 * (Nagle on, MOSQ_OPT_TCP_NODELAY off) costs the MQTT handshake without
 * touching libplugin. Not part of any product. */
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

__attribute__((visibility("default"))) int connect(int fd, const struct sockaddr *sa,
						     socklen_t len);

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	static int (*real)(int, const struct sockaddr *, socklen_t);
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "connect");
	if (!real)
		return -1;
	if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return real(fd, sa, len);
}
