/* mqtt_cause.h — why one MQTT connection attempt failed, in words.
 *
 * libmosquitto reports a failed TLS handshake as MOSQ_ERR_TLS and nothing
 * more: the detail is in its log callback (OpenSSL's error queue, its own
 * host-name check) and in the session's X509 verification result, which is
 * only reachable while that callback runs. A struct mqtt_cause collects those
 * during one attempt, together with errno and a refusing CONNACK code, and
 * formats the cause for the bus's log line.
 *
 * Owns no memory: fixed buffers, so a chatty handshake cannot grow it.
 * Loop thread only, like the bus that holds it.
 */
#ifndef ORBIT_MQTT_CAUSE_H
#define ORBIT_MQTT_CAUSE_H

#include <stdbool.h>
#include <stddef.h>

struct mosquitto;

#define MQTT_CAUSE_TEXT 160

struct mqtt_cause {
	int connack;                 /* CONNACK code that refused, or 0 */
	int err;                     /* errno seen with the failure, or 0 */
	long verify;                 /* X509 verification result (0: none known) */
	bool host_mismatch;          /* libmosquitto's host-name check failed */
	int alert;                   /* first fatal TLS alert the broker sent + 1, or 0 */
	char tls[MQTT_CAUSE_TEXT];   /* first OpenSSL error reason, or "" */
	char other[MQTT_CAUSE_TEXT]; /* first other error line, or "" */
};

/* Forget everything: a new attempt starts. */
void mqtt_cause_reset(struct mqtt_cause *c);

/* One libmosquitto log line (mosquitto_log_callback_set) during the attempt;
 * keeps the first error of each kind and, for an OpenSSL error, the
 * verification result of mosq's TLS session. */
void mqtt_cause_log(struct mqtt_cause *c, struct mosquitto *mosq, int level, const char *line);

/* Watch the TLS session mosq has just opened (if any) for the alerts the
 * broker sends: libmosquitto logs nothing when an alert ends a write, as a
 * TLS 1.3 broker's "certificate required" may. c must outlive the session
 * or the next mqtt_cause_watch. */
void mqtt_cause_watch(struct mqtt_cause *c, struct mosquitto *mosq);

/* The cause of a failed attempt into buf (always terminated): rc is the
 * libmosquitto result the attempt ended with, host the name it connected to
 * (for a host-name mismatch), tls whether TLS was configured. */
void mqtt_cause_format(const struct mqtt_cause *c, int rc, const char *host, bool tls, char *buf,
		       size_t n);

#endif
