/* mqtt_bus.c — the MQTT transport: carries orbit_bus traffic over one
 * libmosquitto session that the caller's libevent loop drives (no library
 * thread). Owns its mosquitto handle, its events, the subscriber table, the
 * held-publish FIFO and copies of every option string.
 *
 * Driving libmosquitto from libevent: a persistent EV_READ event on the
 * session socket calls mosquitto_loop_read, a second event on the same socket
 * holds EV_WRITE only while mosquitto_want_write() says output is pending, and
 * a 1 s timer calls mosquitto_loop_misc (keepalive, and a CONNACK deadline of
 * one keepalive period). libmosquitto's callbacks run inside those calls.
 *
 * Reconnects are ours, not libmosquitto's: each attempt is one
 * mosquitto_connect_bind_async (a non-blocking connect; see mqtt_bus.h for
 * the name lookup it performs), and every failure — refused, lost, keepalive —
 * arrives through on_disconnect and arms a backoff timer.
 *
 * A failed attempt is logged with its cause (mqtt_cause.h: libmosquitto's log
 * callback is set only while an attempt is in flight, so an established
 * session formats no log lines). An outage logs its cause once, again only
 * when the cause changes, a reminder with the count when the back-off first
 * reaches reconnect_max and then every REMIND_EVERY attempts, and one line
 * when a session is established again.
 */
#include "orbit/mqtt_bus.h"
#include "orbit/orbiter.h"
#include "envelope.h"
#include "liblog.h"
#include "mqtt_cause.h"
#include "mqtt_tls.h"
#include "subtable.h"
#include "uuid.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <math.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define DEFAULT_HOST "localhost"
#define DEFAULT_PORT 1883
#define DEFAULT_KEEPALIVE 60
#define DEFAULT_RECONNECT_MIN 1.0
#define DEFAULT_RECONNECT_MAX 30.0
#define DEFAULT_MAX_QUEUED 4096
#define DEFAULT_MAX_QUEUED_BYTES (16u << 20)
/* A flood of garbage must not turn into a flood of log lines. */
#define MALFORMED_LOG_INTERVAL_S 10
/* An outage at reconnect_max (30 s by default) is recalled every 50 minutes. */
#define REMIND_EVERY 100
/* An attempt with no CONNACK this long after it started is abandoned and
 * retried: loopback or a WAN, TCP, TLS and CONNECT take far less. */
#define CONNECT_DEADLINE 10.0

enum link_state {
	LINK_IDLE,       /* no socket; a retry may be armed */
	LINK_CONNECTING, /* socket open, CONNACK not yet received */
	LINK_UP,         /* session established */
};

/* A publish waiting for the session or for SUBACKs; topic follows inline. */
struct held {
	struct held *next;
	char *json; /* encoded envelope, owned */
	size_t len;
	char topic[];
};

/* An unacknowledged SUBSCRIBE; the topic is kept to name it in logs. */
struct pending_sub {
	int mid;
	char *topic;
};

struct mqtt_bus {
	orbit_bus base;
	struct mosquitto *mosq;
	subtable subs;

	char *host;
	char *client_id;
	char *publisher_id;
	int port;
	int keepalive;
	double reconnect_min, reconnect_max;
	size_t max_queued, max_queued_bytes;
	void (*on_state)(void *ctx, bool connected);
	void *ctx;

	enum link_state link;
	unsigned attempts;       /* back-off exponent: failures until reconnect_max */
	bool tls;                /* TLS configured (named in causes) */
	struct mqtt_cause cause; /* of the attempt in flight */
	unsigned long failures;  /* failed attempts since the last session */
	unsigned long logged_at; /* failures when the outage was last logged */
	bool outage;             /* a failure or loss was logged since the last session */
	bool reminded;           /* the reminder at reconnect_max went out */
	char logged[256];        /* cause last logged in this outage, "" if none */
	bool destroying;
	struct event *rd_ev, *wr_ev; /* on the current socket, NULL before the first */
	bool wr_armed;
	bool tcp_up; /* the attempt's socket was writable once: TCP is connected */
	double attempt_at; /* orbit_now() when the attempt in flight started */
	struct event *retry_ev, *misc_ev;

	struct pending_sub *pend;
	size_t n_pend, cap_pend;

	struct held *q_head, *q_tail;
	size_t q_bytes;

	orbit_mqtt_counters c;
	struct timespec malformed_logged_at;
	bool malformed_ever_logged;
	uint64_t malformed_suppressed;
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static int lib_rc;

static void lib_init(void)
{
	lib_rc = mosquitto_lib_init();
}

/* Map a libmosquitto result of publish/subscribe/unsubscribe to -errno.
 * A dead or dying socket is -ENOTCONN: nothing of that call reached the
 * broker and the reconnect path will take over. */
static int mosq_errno(int rc)
{
	switch (rc) {
	case MOSQ_ERR_SUCCESS:
		return 0;
	case MOSQ_ERR_NOMEM:
		return -ENOMEM;
	case MOSQ_ERR_INVAL:
	case MOSQ_ERR_MALFORMED_UTF8:
		return -EINVAL;
	case MOSQ_ERR_PAYLOAD_SIZE:
	case MOSQ_ERR_OVERSIZE_PACKET:
		return -EMSGSIZE;
	case MOSQ_ERR_NO_CONN:
	case MOSQ_ERR_CONN_LOST:
	case MOSQ_ERR_ERRNO:
		return -ENOTCONN;
	default:
		return -EIO;
	}
}

/* Why a connection ended, for logs (libmosquitto 2.0 has no text for a
 * keepalive timeout). */
static const char *loss_reason(int rc)
{
	return rc == MOSQ_ERR_KEEPALIVE ? "no reply within the keepalive period"
					: mosquitto_strerror(rc);
}

/* Exact MQTT topic name: no wildcard characters, valid MQTT UTF-8 (which also
 * excludes NUL and control characters), 1..65535 bytes. */
static bool topic_valid(const char *topic)
{
	if (!topic || !*topic)
		return false;
	size_t len = strlen(topic);
	return len <= UINT16_MAX && mosquitto_pub_topic_check2(topic, len) == MOSQ_ERR_SUCCESS &&
	       mosquitto_validate_utf8(topic, (int)len) == MOSQ_ERR_SUCCESS;
}

/* ---- socket events ------------------------------------------------------ */

static void io_detach(struct mqtt_bus *mb)
{
	/* Deleted, not freed: this may run inside the read event's own callback. */
	if (mb->rd_ev)
		event_del(mb->rd_ev);
	if (mb->wr_ev)
		event_del(mb->wr_ev);
	mb->wr_armed = false;
}

static void io_release(struct mqtt_bus *mb)
{
	if (mb->rd_ev)
		event_free(mb->rd_ev);
	if (mb->wr_ev)
		event_free(mb->wr_ev);
	mb->rd_ev = mb->wr_ev = NULL;
	mb->wr_armed = false;
}

static void on_readable(evutil_socket_t fd, short what, void *arg);
static void on_writable(evutil_socket_t fd, short what, void *arg);

static int io_attach(struct mqtt_bus *mb, int fd)
{
	struct event_base *base = mb->base.base;
	io_release(mb);
	mb->rd_ev = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, mb);
	mb->wr_ev = event_new(base, fd, EV_WRITE | EV_PERSIST, on_writable, mb);
	if (!mb->rd_ev || !mb->wr_ev || event_add(mb->rd_ev, NULL) < 0) {
		io_release(mb);
		return -ENOMEM;
	}
	return 0;
}

/* True while this attempt's TLS handshake is unfinished (mqtt_tls.h). */
static bool handshaking(struct mqtt_bus *mb)
{
	return mb->tls && mb->link == LINK_CONNECTING && mqtt_tls_handshaking(mb->mosq);
}

/* Ask for EV_WRITE exactly while libmosquitto has output it could not write,
 * or, during a TLS handshake, until TCP is up and then while the handshake
 * waits to write. */
static void update_write(struct mqtt_bus *mb)
{
	if (mb->link == LINK_IDLE)
		return;
	bool want = handshaking(mb) ? !mb->tcp_up || mqtt_tls_wants_write(mb->mosq)
				    : mosquitto_want_write(mb->mosq);
	if (want == mb->wr_armed)
		return;
	if (want ? event_add(mb->wr_ev, NULL) : event_del(mb->wr_ev)) {
		orbit_logf(LOG_ERR, "mqtt: cannot %s write interest", want ? "add" : "remove");
		return;
	}
	mb->wr_armed = want;
}

/* ---- connection lifecycle ----------------------------------------------- */

/* Arm the next attempt; true when its delay is the ceiling, reconnect_max. */
static bool schedule_retry(struct mqtt_bus *mb)
{
	double d = mb->reconnect_min * ldexp(1.0, mb->attempts < 30 ? (int)mb->attempts : 30);
	bool at_max = d >= mb->reconnect_max;
	if (at_max)
		d = mb->reconnect_max;
	else
		mb->attempts++;
	struct timeval tv = {
		.tv_sec = (time_t)d,
		.tv_usec = (suseconds_t)((d - floor(d)) * 1e6),
	};
	if (evtimer_add(mb->retry_ev, &tv) < 0)
		orbit_logf(LOG_ERR, "mqtt: cannot arm the reconnect timer; staying offline");
	return at_max;
}

/* The attempt in flight ended with rc before a session: log its cause unless
 * that is what this outage already said, and retry. */
static void attempt_failed(struct mqtt_bus *mb, int rc)
{
	char why[sizeof mb->logged];
	mqtt_cause_format(&mb->cause, rc, mb->host, mb->tls, why, sizeof why);
	mb->failures++;
	bool at_max = schedule_retry(mb);
	if (strcmp(why, mb->logged) != 0) {
		orbit_logf(LOG_WARNING, "mqtt: cannot connect to %s:%d: %s; retrying every %g..%g s",
			   mb->host, mb->port, why, mb->reconnect_min, mb->reconnect_max);
	} else if ((at_max && !mb->reminded) || mb->failures - mb->logged_at >= REMIND_EVERY) {
		orbit_logf(LOG_WARNING, "mqtt: still cannot connect to %s:%d after %lu attempts: %s",
			   mb->host, mb->port, mb->failures, why);
		mb->reminded = mb->reminded || at_max;
	} else {
		return;
	}
	memcpy(mb->logged, why, sizeof why);
	mb->logged_at = mb->failures;
	mb->outage = true;
}

static void pend_clear(struct mqtt_bus *mb)
{
	for (size_t i = 0; i < mb->n_pend; i++)
		free(mb->pend[i].topic);
	mb->n_pend = 0;
}

/* The socket is gone (refused, reset, keepalive, or our own disconnect). */
static void link_lost(struct mqtt_bus *mb, int rc)
{
	enum link_state was = mb->link;
	if (was == LINK_IDLE)
		return;
	mb->link = LINK_IDLE;
	io_detach(mb);
	/* Those SUBACKs will never come; the next session resubscribes. */
	pend_clear(mb);
	if (mb->destroying)
		return;
	if (was == LINK_CONNECTING) {
		attempt_failed(mb, rc);
		return;
	}
	orbit_logf(LOG_WARNING, "mqtt: connection to %s:%d lost (%s), reconnecting", mb->host,
		   mb->port, loss_reason(rc));
	mb->outage = true;
	schedule_retry(mb);
	if (mb->on_state)
		mb->on_state(mb->ctx, false);
}

/* End the attempt in flight from our side: libmosquitto 2.0 never gives up
 * on a TLS handshake whose socket reached end of file or an error (it takes
 * SSL_ERROR_SYSCALL for "try again", and the socket stays readable: a busy
 * loop until the keepalive), nor on a broker that accepts and says nothing
 * before the keepalive. Our events leave the socket now; libmosquitto closes
 * it when the next attempt starts (mosquitto_connect_*_async) or the bus is
 * destroyed. why is the cause unless the attempt found a better one. */
static void abandon_attempt(struct mqtt_bus *mb, const char *why)
{
	if (!mb->cause.other[0])
		snprintf(mb->cause.other, sizeof mb->cause.other, "%s", why);
	link_lost(mb, MOSQ_ERR_CONN_LOST);
}

/* During a TLS handshake: whether the socket reached end of file or an error
 * that libmosquitto left unnoticed (see abandon_attempt). */
static bool handshake_socket_dead(struct mqtt_bus *mb, int *err)
{
	int fd = mosquitto_socket(mb->mosq);
	char c;
	if (fd < 0)
		return false;
	ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	*err = n < 0 ? errno : 0;
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* After every libmosquitto call made from an event: keep the events in step
 * with the socket. A socket closed without on_disconnect must not strand the
 * bus, so that case is treated as a loss too. */
static void after_loop(struct mqtt_bus *mb, int rc)
{
	int err = errno; /* of the call whose result rc is */
	if (mb->link != LINK_IDLE && mosquitto_socket(mb->mosq) < 0) {
		/* Only a failed call's errno: a successful one leaves EAGAIN. */
		if (!mb->cause.err)
			mb->cause.err = err;
		link_lost(mb, rc == MOSQ_ERR_SUCCESS ? MOSQ_ERR_CONN_LOST : rc);
	}
	update_write(mb);
}

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *line)
{
	struct mqtt_bus *mb = obj;
	mqtt_cause_log(&mb->cause, mosq, level, line);
}

static void connect_attempt(struct mqtt_bus *mb)
{
	mqtt_cause_reset(&mb->cause);
	mb->tcp_up = false;
	mb->attempt_at = orbit_now();
	mosquitto_log_callback_set(mb->mosq, on_log);
	int rc = mosquitto_connect_bind_async(mb->mosq, mb->host, mb->port, mb->keepalive, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		mb->cause.err = errno;
		attempt_failed(mb, rc);
		return;
	}
	if (io_attach(mb, mosquitto_socket(mb->mosq)) < 0) {
		/* Without events the socket would sit unwatched: drop it and retry. */
		int drc = mosquitto_disconnect(mb->mosq);
		if (drc != MOSQ_ERR_SUCCESS && drc != MOSQ_ERR_NO_CONN)
			orbit_logf(LOG_DEBUG, "mqtt: disconnect: %s", mosquitto_strerror(drc));
		mb->cause.err = ENOMEM;
		attempt_failed(mb, MOSQ_ERR_ERRNO);
		return;
	}
	mqtt_cause_watch(&mb->cause, mb->mosq);
	mb->link = LINK_CONNECTING;
	update_write(mb);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	connect_attempt(arg);
}

static void on_misc(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct mqtt_bus *mb = arg;
	if (mb->link == LINK_IDLE)
		return;
	if (mb->link == LINK_CONNECTING && orbit_now() - mb->attempt_at >= CONNECT_DEADLINE) {
		char why[96];
		snprintf(why, sizeof why, "no %s within %gs", handshaking(mb) ? "TLS handshake"
								: "CONNACK", CONNECT_DEADLINE);
		abandon_attempt(mb, why);
		return;
	}
	after_loop(mb, mosquitto_loop_misc(mb->mosq));
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct mqtt_bus *mb = arg;
	after_loop(mb, mosquitto_loop_read(mb->mosq, 1));
	int err;
	/* The end of file may have come after OpenSSL last read: let it see it
	 * once more, its reason ("unexpected eof", an alert) is the better one. */
	if (handshaking(mb) && handshake_socket_dead(mb, &err))
		after_loop(mb, mosquitto_loop_read(mb->mosq, 1));
	if (handshaking(mb) && handshake_socket_dead(mb, &err)) {
		char why[96];
		if (err)
			snprintf(why, sizeof why, "%s during the TLS handshake", strerror(err));
		else
			snprintf(why, sizeof why, "the broker closed the connection during the "
						  "TLS handshake");
		abandon_attempt(mb, why);
	}
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct mqtt_bus *mb = arg;
	mb->tcp_up = true;
	/* loop_write skips while a TLS handshake runs; loop_read advances it. */
	if (handshaking(mb))
		after_loop(mb, mosquitto_loop_read(mb->mosq, 1));
	else
		after_loop(mb, mosquitto_loop_write(mb->mosq, 1));
}

/* ---- outgoing ----------------------------------------------------------- */

static int send_now(struct mqtt_bus *mb, const char *topic, const char *json, size_t len)
{
	int rc = mosquitto_publish(mb->mosq, NULL, topic, (int)len, json, 0, false);
	if (rc == MOSQ_ERR_SUCCESS)
		mb->c.published++;
	return mosq_errno(rc);
}

/* Take ownership of *json into the FIFO, or refuse when it is full. */
static int enqueue(struct mqtt_bus *mb, const char *topic, char **json, size_t len)
{
	if (mb->c.queued >= mb->max_queued || len > mb->max_queued_bytes - mb->q_bytes)
		return mb->link == LINK_UP ? -ENOBUFS : -ENOTCONN;
	size_t tlen = strlen(topic) + 1;
	struct held *h = malloc(sizeof(*h) + tlen);
	if (!h)
		return -ENOMEM;
	memcpy(h->topic, topic, tlen);
	h->json = *json;
	h->len = len;
	h->next = NULL;
	*json = NULL;
	if (mb->q_tail)
		mb->q_tail->next = h;
	else
		mb->q_head = h;
	mb->q_tail = h;
	mb->c.queued++;
	mb->q_bytes += len;
	return 0;
}

static void dequeue(struct mqtt_bus *mb)
{
	struct held *h = mb->q_head;
	mb->q_head = h->next;
	if (!mb->q_head)
		mb->q_tail = NULL;
	mb->c.queued--;
	mb->q_bytes -= h->len;
	free(h->json);
	free(h);
}

/* Send held publishes in order while nothing is left to wait for. */
static void flush_queue(struct mqtt_bus *mb)
{
	while (mb->q_head && mb->link == LINK_UP && mb->n_pend == 0) {
		struct held *h = mb->q_head;
		int rc = send_now(mb, h->topic, h->json, h->len);
		if (rc == -ENOTCONN)
			return; /* kept for the next session */
		if (rc < 0)
			orbit_logf(LOG_WARNING, "mqtt: dropped a held publish on '%.200s': %s",
				   h->topic, strerror(-rc));
		dequeue(mb);
	}
}

static int send_subscribe(struct mqtt_bus *mb, const char *topic)
{
	int rc = 0;
	char *copy = NULL;
	int mid;
	/* Make room first: once the SUBSCRIBE is out, tracking it must not fail. */
	if (mb->n_pend == mb->cap_pend) {
		size_t cap = mb->cap_pend ? 2 * mb->cap_pend : 16;
		struct pending_sub *p = realloc(mb->pend, cap * sizeof(*p));
		if (!p) {
			rc = -ENOMEM;
			goto out;
		}
		mb->pend = p;
		mb->cap_pend = cap;
	}
	copy = strdup(topic);
	if (!copy) {
		rc = -ENOMEM;
		goto out;
	}
	rc = mosq_errno(mosquitto_subscribe(mb->mosq, &mid, topic, 0));
	if (rc < 0)
		goto out;
	mb->pend[mb->n_pend++] = (struct pending_sub){.mid = mid, .topic = copy};
	copy = NULL;
out:
	free(copy);
	return rc;
}

static void resubscribe_one(void *arg, const char *topic)
{
	struct mqtt_bus *mb = arg;
	int rc = send_subscribe(mb, topic);
	/* -ENOTCONN: this session is already going; the next one retries. */
	if (rc < 0 && rc != -ENOTCONN)
		orbit_logf(LOG_ERR, "mqtt: cannot resubscribe to '%.200s': %s", topic, strerror(-rc));
}

/* ---- libmosquitto callbacks (run inside loop_read/write/misc) ------------ */

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	(void)mosq;
	struct mqtt_bus *mb = obj;
	if (rc != 0) {
		/* libmosquitto follows up with on_disconnect, which logs the cause
		 * and arms the retry. */
		mb->cause.connack = rc;
		return;
	}
	/* A session formats no log lines: libmosquitto would build one per packet. */
	mosquitto_log_callback_set(mosq, NULL);
	mb->link = LINK_UP;
	mb->attempts = 0;
	mb->c.connects++;
	char after[64] = "";
	if (mb->failures)
		snprintf(after, sizeof after, " after %lu failed attempt%s", mb->failures,
			 mb->failures == 1 ? "" : "s");
	orbit_logf(mb->outage ? LOG_WARNING : LOG_INFO, "mqtt: connected to %s:%d as '%s'%s",
		   mb->host, mb->port, mb->client_id, after);
	mb->outage = false;
	mb->reminded = false;
	mb->failures = 0;
	mb->logged_at = 0;
	mb->logged[0] = '\0';
	/* Resubscribe before flushing: whatever was published while offline may
	 * be the request whose answer comes back on one of these topics. */
	subtable_foreach_topic(&mb->subs, resubscribe_one, mb);
	flush_queue(mb);
	if (mb->on_state)
		mb->on_state(mb->ctx, true);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	(void)mosq;
	struct mqtt_bus *mb = obj;
	if (mb->link == LINK_CONNECTING && !mb->cause.err)
		mb->cause.err = errno;
	link_lost(mb, rc);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int qos_count,
			 const int *granted_qos)
{
	(void)mosq;
	struct mqtt_bus *mb = obj;
	for (size_t i = 0; i < mb->n_pend; i++) {
		if (mb->pend[i].mid != mid)
			continue;
		/* 0x80: the broker refused (ACL); nothing will arrive on it. */
		if (qos_count > 0 && granted_qos[0] == 0x80)
			orbit_logf(LOG_ERR, "mqtt: broker refused the subscription to '%.200s'",
				   mb->pend[i].topic);
		free(mb->pend[i].topic);
		mb->pend[i] = mb->pend[--mb->n_pend];
		break;
	}
	if (mb->n_pend == 0)
		flush_queue(mb);
}

static void log_malformed(struct mqtt_bus *mb, const char *topic, int len, int err)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (mb->malformed_ever_logged &&
	    now.tv_sec - mb->malformed_logged_at.tv_sec < MALFORMED_LOG_INTERVAL_S) {
		mb->malformed_suppressed++;
		return;
	}
	char more[64] = "";
	if (mb->malformed_suppressed)
		snprintf(more, sizeof(more), " (and %" PRIu64 " since the last report)",
			 mb->malformed_suppressed);
	orbit_logf(LOG_WARNING, "mqtt: dropped an undecodable message on '%.200s' (%d bytes): %s%s",
		   topic, len, strerror(-err), more);
	mb->malformed_ever_logged = true;
	mb->malformed_logged_at = now;
	mb->malformed_suppressed = 0;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	(void)mosq;
	struct mqtt_bus *mb = obj;
	orbit_envelope env;
	mb->c.received++;
	int rc = orbit_envelope_decode(msg->payload ? msg->payload : "", (size_t)msg->payloadlen,
				       &env);
	if (rc < 0) {
		mb->c.dropped_malformed++;
		log_malformed(mb, msg->topic, msg->payloadlen, rc);
		return;
	}
	subtable_dispatch(&mb->subs, msg->topic, &env.payload);
	orbit_envelope_clear(&env);
}

/* ---- orbit_bus operations ----------------------------------------------- */

static int mqtt_subscribe(orbit_bus *b, const char *topic, orbit_bus_handler h, void *ctx)
{
	struct mqtt_bus *mb = (struct mqtt_bus *)b;
	bool first;
	bool last;
	int rc;
	if (!topic_valid(topic) || !h) {
		rc = -EINVAL;
		goto out;
	}
	rc = subtable_add(&mb->subs, topic, h, ctx, &first);
	/* Offline, the next session's resubscription covers the new topic. */
	if (rc < 0 || !first || mb->link != LINK_UP)
		goto out;
	rc = send_subscribe(mb, topic);
	if (rc == -ENOTCONN)
		rc = 0;
	else if (rc < 0)
		subtable_remove(&mb->subs, topic, ctx, &last);
out:
	update_write(mb);
	return rc;
}

static int mqtt_unsubscribe(orbit_bus *b, const char *topic, void *ctx)
{
	struct mqtt_bus *mb = (struct mqtt_bus *)b;
	bool last;
	int rc = topic ? subtable_remove(&mb->subs, topic, ctx, &last) : -EINVAL;
	if (rc < 0 || !last || mb->link != LINK_UP)
		goto out;
	/* Locally the subscription is gone already (stray messages find no
	 * handler), so a failed UNSUBSCRIBE costs bandwidth only. */
	int err = mosq_errno(mosquitto_unsubscribe(mb->mosq, NULL, topic));
	if (err < 0 && err != -ENOTCONN)
		orbit_logf(LOG_WARNING, "mqtt: cannot unsubscribe from '%.200s': %s", topic,
			   strerror(-err));
out:
	update_write(mb);
	return rc;
}

static int mqtt_publish(orbit_bus *b, const char *topic, const orbit_payload *p, unsigned flags)
{
	struct mqtt_bus *mb = (struct mqtt_bus *)b;
	char *json = NULL;
	size_t len = 0;
	int rc;
	if (!topic_valid(topic) || !p) {
		rc = -EINVAL;
		goto out;
	}
	rc = orbit_envelope_encode(p, mb->publisher_id, &json, &len);
	if (rc < 0)
		goto out;
	/* PUBLISH remaining length = 2 + topic + payload. */
	if (len > MQTT_MAX_PAYLOAD - 2 - strlen(topic)) {
		rc = -EMSGSIZE;
		goto out;
	}
	bool hold = mb->link != LINK_UP || mb->q_head ||
		    ((flags & ORBIT_PUB_AFTER_SUBACK) && mb->n_pend > 0);
	if (!hold) {
		rc = send_now(mb, topic, json, len);
		if (rc != -ENOTCONN)
			goto out;
	}
	rc = enqueue(mb, topic, &json, len);
out:
	free(json);
	update_write(mb);
	return rc;
}

static void mqtt_destroy(orbit_bus *b)
{
	struct mqtt_bus *mb = (struct mqtt_bus *)b;
	mb->destroying = true;
	if (mb->link != LINK_IDLE) {
		/* Best effort: DISCONNECT is written now if the socket takes it. */
		int rc = mosquitto_disconnect(mb->mosq);
		if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN)
			orbit_logf(LOG_DEBUG, "mqtt: disconnect: %s", mosquitto_strerror(rc));
	}
	io_release(mb);
	if (mb->retry_ev)
		event_free(mb->retry_ev);
	if (mb->misc_ev)
		event_free(mb->misc_ev);
	if (mb->mosq)
		mosquitto_destroy(mb->mosq);
	pend_clear(mb);
	free(mb->pend);
	while (mb->q_head)
		dequeue(mb);
	subtable_clear(&mb->subs);
	free(mb->host);
	free(mb->client_id);
	free(mb->publisher_id);
	free(mb);
}

static const orbit_bus_ops mqtt_ops = {
	.name = "mqtt",
	.subscribe = mqtt_subscribe,
	.unsubscribe = mqtt_unsubscribe,
	.publish = mqtt_publish,
	.destroy = mqtt_destroy,
};

/* ---- construction ------------------------------------------------------- */

/* Fill defaults into *o and check it; 0 or -EINVAL. */
static int options_resolve(orbit_mqtt_options *o)
{
	if (!o->host)
		o->host = DEFAULT_HOST;
	if (!o->port)
		o->port = DEFAULT_PORT;
	if (!o->keepalive)
		o->keepalive = DEFAULT_KEEPALIVE;
	/* A bound given alone moves the missing default out of its way. */
	if (o->reconnect_min == 0)
		o->reconnect_min = o->reconnect_max > 0 ? fmin(DEFAULT_RECONNECT_MIN, o->reconnect_max)
							: DEFAULT_RECONNECT_MIN;
	if (o->reconnect_max == 0)
		o->reconnect_max = fmax(DEFAULT_RECONNECT_MAX, o->reconnect_min);
	if (!o->max_queued)
		o->max_queued = DEFAULT_MAX_QUEUED;
	if (!o->max_queued_bytes)
		o->max_queued_bytes = DEFAULT_MAX_QUEUED_BYTES;
	bool tls_ok = (!o->tls_cert == !o->tls_key) && (o->tls_ca || !o->tls_cert);
	if (!*o->host || o->port < 1 || o->port > UINT16_MAX || o->keepalive < 5 ||
	    o->keepalive > UINT16_MAX || !(o->reconnect_min > 0) ||
	    !(o->reconnect_max >= o->reconnect_min) || o->reconnect_max > 86400 || !tls_ok ||
	    (o->password && !o->username) || (o->client_id && !*o->client_id))
		return -EINVAL;
	return 0;
}

static int mosq_setup(struct mqtt_bus *mb, const orbit_mqtt_options *o)
{
	int rc = mosquitto_int_option(mb->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	/* The handshake writes small packets back to back (SUBSCRIBE, then the
	 * PUBLISH held for its SUBACK; Offer, Request, Confirm): with Nagle on
	 * each waits for the peer's delayed ACK, ~40 ms (bench/RESULTS.md). */
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_int_option(mb->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	if (rc == MOSQ_ERR_SUCCESS && o->username)
		rc = mosquitto_username_pw_set(mb->mosq, o->username, o->password);
	if (rc == MOSQ_ERR_SUCCESS && o->tls_ca)
		rc = mosquitto_tls_set(mb->mosq, o->tls_ca, NULL, o->tls_cert, o->tls_key, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		orbit_logf(LOG_ERR, "mqtt: cannot configure the client: %s", mosquitto_strerror(rc));
		return rc == MOSQ_ERR_NOMEM ? -ENOMEM : -EINVAL;
	}
	mosquitto_connect_callback_set(mb->mosq, on_connect);
	mosquitto_disconnect_callback_set(mb->mosq, on_disconnect);
	mosquitto_subscribe_callback_set(mb->mosq, on_subscribe);
	mosquitto_message_callback_set(mb->mosq, on_message);
	return 0;
}

orbit_bus *orbit_mqtt_bus_new(struct event_base *base, const orbit_mqtt_options *opt)
{
	struct mqtt_bus *mb = NULL;
	orbit_mqtt_options o;
	char uuid[ORBIT_UUID_STRLEN + 1];
	int rc;
	if (!base || !opt) {
		errno = EINVAL;
		return NULL;
	}
	pthread_once(&lib_once, lib_init);
	if (lib_rc != MOSQ_ERR_SUCCESS) {
		orbit_logf(LOG_ERR, "mqtt: mosquitto_lib_init: %s", mosquitto_strerror(lib_rc));
		rc = -EIO;
		goto fail;
	}
	o = *opt;
	rc = options_resolve(&o);
	if (rc < 0)
		goto fail;
	if (!o.client_id) {
		orbit_uuid4(uuid);
		o.client_id = uuid; /* what busline does (SPEC §1.1) */
	}
	mb = calloc(1, sizeof(*mb));
	if (!mb) {
		rc = -ENOMEM;
		goto fail;
	}
	mb->base.ops = &mqtt_ops;
	mb->base.base = base;
	subtable_init(&mb->subs);
	mb->port = o.port;
	mb->keepalive = o.keepalive;
	mb->reconnect_min = o.reconnect_min;
	mb->reconnect_max = o.reconnect_max;
	mb->max_queued = o.max_queued;
	mb->max_queued_bytes = o.max_queued_bytes;
	mb->on_state = o.on_state;
	mb->tls = o.tls_ca != NULL;
	mb->ctx = o.ctx;
	mb->host = strdup(o.host);
	mb->client_id = strdup(o.client_id);
	mb->publisher_id = strdup(o.publisher_id ? o.publisher_id : o.client_id);
	mb->retry_ev = evtimer_new(base, on_retry, mb);
	mb->misc_ev = event_new(base, -1, EV_PERSIST, on_misc, mb);
	if (!mb->host || !mb->client_id || !mb->publisher_id || !mb->retry_ev || !mb->misc_ev) {
		rc = -ENOMEM;
		goto fail;
	}
	mb->mosq = mosquitto_new(mb->client_id, true, mb);
	if (!mb->mosq) {
		rc = errno == EINVAL ? -EINVAL : -ENOMEM;
		goto fail;
	}
	rc = mosq_setup(mb, &o);
	if (rc < 0)
		goto fail;
	if (event_add(mb->misc_ev, &(struct timeval){.tv_sec = 1}) < 0) {
		rc = -ENOMEM;
		goto fail;
	}
	connect_attempt(mb);
	return &mb->base;
fail:
	if (mb)
		mqtt_destroy(&mb->base);
	errno = -rc;
	return NULL;
}

bool orbit_mqtt_bus_connected(const orbit_bus *b)
{
	if (!b || b->ops != &mqtt_ops)
		return false;
	return ((const struct mqtt_bus *)b)->link == LINK_UP;
}

void orbit_mqtt_bus_counters(const orbit_bus *b, orbit_mqtt_counters *out)
{
	if (!b || b->ops != &mqtt_ops) {
		*out = (orbit_mqtt_counters){0};
		return;
	}
	*out = ((const struct mqtt_bus *)b)->c;
}
