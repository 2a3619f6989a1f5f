/* link.h — the framed stream socket between orbitd and one plugin process
 * (plugproc.h): the bus bridge's messages and the supervisor's control
 * frames, both directions, on the libevent loop of either side.
 *
 * A frame is a 12-byte header (host byte order: both ends are the same
 * binary on the same machine) and a body:
 *     u32 body length, u8 type, u8 bus, u8 payload format, u8 publish flags,
 *     u16 topic length, u16 message-type length,
 *     then topic, message type and data, back to back.
 * Frames without a message (PING, REPORT, ...) carry their data only.
 *
 * Sends are buffered and written once the current loop callback has
 * returned, so everything one callback sends (a reply and its sink's
 * output, a burst of deliveries) leaves in one write(2). The output buffer
 * has a bound: a message frame beyond it is dropped and counted (the peer
 * is not reading: the supervisor's liveness ping deals with that); control
 * frames always go. Input is parsed as it arrives and checked against the
 * limits below before anything of it is used: the daemon never trusts the
 * plugin process, whatever it writes.
 *
 * Ownership: a link owns its fd (closed by link_free) and its buffers. A
 * frame handed to the callback is borrowed for the call.
 */
#ifndef ORBITD_LINK_H
#define ORBITD_LINK_H

#include <orbit/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct link;

enum link_type {
	/* daemon → plugin process */
	LINK_DELIVER = 1,  /* bus, topic, message: a message for a subscription */
	LINK_PING,         /* data: 8-byte token, echoed by PONG */
	LINK_STOP,         /* release the plugin (shutdown hook) and exit */
	LINK_CLOSE_ALL,    /* close every connection gracefully */
	LINK_RECONFIG,     /* data: JSON {"policies": [...], "config": {...}} */
	LINK_CLOSE,        /* data: close one connection (link_close_encode) */
	LINK_TAG,          /* data: struct link_tag: the next DELIVER, if of that
			    * fingerprint, is the daemon's call id (calltag.h) */
	/* plugin process → daemon */
	LINK_SUB = 16,     /* bus, topic */
	LINK_UNSUB,        /* bus, topic */
	LINK_PUB,          /* bus, flags, topic, message */
	LINK_PONG,         /* data: the PING's token */
	LINK_READY,        /* init and start succeeded */
	LINK_FAIL,         /* data: why init or start failed (text) */
	LINK_REPORT,       /* data: JSON snapshot (connections, counters) */
	LINK_RECONFIGURED, /* data: "" or why the reload was refused (text) */
	LINK_OUT_TAG,      /* data: struct link_tag: the next PUB, if of that
			    * fingerprint, is an output of call id */
	LINK_CALL_DONE,    /* data: struct link_done: call id has ended */
};

/* Bodies of the correlation frames (calltag.h), in host byte order. */
struct link_tag {
	uint64_t id, fp;
};

struct link_done {
	uint64_t id;
	uint32_t outputs;
	uint32_t zero;
};

/* Limits checked on every frame read. */
#define LINK_TOPIC_MAX 1024u          /* bytes of a topic */
#define LINK_MTYPE_MAX 255u           /* bytes of a message type */
#define LINK_FRAME_MAX (16u << 20)    /* bytes of a body */
#define LINK_HEADER 12u

struct link_frame {
	uint8_t type, bus;
	unsigned flags;    /* ORBIT_PUB_* of a PUB */
	const char *topic; /* NUL-terminated; "" for frames without one */
	orbit_payload p;   /* DELIVER/PUB: the message; else data/len = the body */
};

/* A frame arrived. Return 0 to go on, or -1 when the link must not be read
 * any further (the callback condemned it: it will be freed, or was freed
 * with link_free — safe from inside this callback). */
typedef int (*link_frame_fn)(void *ctx, const struct link_frame *f);

/* The link is down: err 0 for end of file, else the errno of the failed
 * read/write, or EPROTO with why describing the malformed input. Called
 * once; the link is still allocated (free it from here or later). */
typedef void (*link_down_fn)(void *ctx, int err, const char *why);

/* New link over fd (made non-blocking, owned from now on) on base;
 * max_out bounds the unsent bytes of message frames. NULL + errno. */
struct link *link_new(struct event_base *base, int fd, size_t max_out, link_frame_fn on_frame,
		      link_down_fn on_down, void *ctx);

/* Queue a message frame (DELIVER, PUB, SUB, UNSUB: p NULL for the last
 * two). 0, -ENOBUFS (output bound reached: dropped and counted), -EMSGSIZE
 * (beyond the limits above), -ENOMEM, -ENOTCONN (link down). */
int link_send_msg(struct link *l, uint8_t type, uint8_t bus, unsigned flags, const char *topic,
		  const orbit_payload *p);

/* A CLOSE frame's body: u8 graceful (0 or 1), the remote's identifier, a
 * NUL, the operation; each 1..LINK_CLOSE_ID_MAX bytes without a NUL. */
#define LINK_CLOSE_ID_MAX 1024u

/* Queue a CLOSE frame asking the plugin process to close its connection
 * with remote for operation. As link_send_data, or -EINVAL for a name
 * beyond the limits. */
int link_send_close(struct link *l, const char *remote, const char *operation, bool graceful);

/* Read a CLOSE frame's body into remote and operation (each of
 * LINK_CLOSE_ID_MAX + 1 bytes). 0, or -EPROTO when it is malformed. */
int link_parse_close(const orbit_payload *body, char *remote, char *operation, bool *graceful);

/* Queue a control frame carrying data (never dropped for the bound).
 * 0, -EMSGSIZE, -ENOMEM, -ENOTCONN. */
int link_send_data(struct link *l, uint8_t type, const void *data, size_t len);

/* Write what is queued now, waiting at most timeout seconds for the peer
 * to take it (a plugin process about to exit). 0 when all went out. */
int link_flush_blocking(struct link *l, double timeout);

/* Read and hand over, now, every frame the peer wrote that is still in the
 * socket: for a peer known to be gone, whose last words (a FAIL, a final
 * REPORT) must not be lost to the order in which the loop would have seen
 * its exit and its socket. Ends in on_down at end of file, as a read
 * would. */
void link_read_pending(struct link *l);

/* How long a process with links keeps polling its loop after a frame
 * went or came before it sleeps in epoll_wait: the peer's next frame (the
 * answer, the next input of a sequence of calls) then finds it running.
 * Waking a process asleep costs tens of microseconds on a VM, twice per
 * round trip; polling costs at most this much CPU per burst of frames
 * (bench/RESULTS.md has both figures). Only where the process may run on
 * more than one CPU: sharing one with its peer, polling would only take
 * the CPU the peer needs. */
#define LINK_SPIN 50e-6

/* One pass of base's loop, like event_base_loop(EVLOOP_ONCE), except
 * that for spin seconds after the last frame any link of this process
 * sent or received it does not sleep (EVLOOP_NONBLOCK). spin <= 0: always
 * EVLOOP_ONCE. Returns what event_base_loop returns. */
int link_loop_once(struct event_base *base, double spin);

/* event_base_dispatch with link_loop_once(base, LINK_SPIN): until
 * event_base_loopexit/loopbreak or no event is left. 0, 1 (no events) or
 * -1 as event_base_dispatch. */
int link_dispatch(struct event_base *base);

/* Message frames dropped at the output bound since the link was made. */
uint64_t link_dropped(const struct link *l);

/* Bytes queued and not yet written. */
size_t link_queued(const struct link *l);

/* Close the fd and free. Safe from inside the link's own callbacks (the
 * free is then deferred until they return). NULL-safe. */
void link_free(struct link *l);

#endif
