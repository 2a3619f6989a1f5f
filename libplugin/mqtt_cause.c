/* mqtt_cause.c — see mqtt_cause.h. */
#include "mqtt_cause.h"

#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

void mqtt_cause_reset(struct mqtt_cause *c)
{
	*c = (struct mqtt_cause){0};
}

/* Copy line into a cause buffer unless it already holds the first one. */
static void keep_first(char dst[MQTT_CAUSE_TEXT], const char *line)
{
	if (!dst[0])
		snprintf(dst, MQTT_CAUSE_TEXT, "%s", line);
}

/* "OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed"
 * (ERR_error_string: error:code:library:function:reason): the reason. */
static const char *openssl_reason(const char *line)
{
	const char *r = strrchr(line, ':');
	r = r ? r + 1 : line;
	while (*r == ' ')
		r++;
	return r;
}

void mqtt_cause_log(struct mqtt_cause *c, struct mosquitto *mosq, int level, const char *line)
{
	static const char openssl[] = "OpenSSL Error[";
	static const char error[] = "Error: ";
	if (!(level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) || !line)
		return;
	if (strncmp(line, openssl, sizeof openssl - 1) == 0) {
		keep_first(c->tls, openssl_reason(line));
		/* The session is still there while libmosquitto prints its error
		 * queue, and gone by the time the attempt's result reaches us. */
		SSL *ssl = mosquitto_ssl_get(mosq);
		long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
		/* UNSPECIFIED is what libmosquitto's own host-name check leaves. */
		if (!c->verify && v != X509_V_OK && v != X509_V_ERR_UNSPECIFIED)
			c->verify = v;
		return;
	}
	if (strstr(line, "host name verification failed")) {
		c->host_mismatch = true;
		return;
	}
	if (strncmp(line, error, sizeof error - 1) == 0)
		line += sizeof error - 1;
	keep_first(c->other, line);
}

static pthread_once_t ex_once = PTHREAD_ONCE_INIT;
static int ex_index = -1; /* our slot in SSL ex_data: the struct mqtt_cause */

static void ex_init(void)
{
	ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static void on_ssl_info(const SSL *ssl, int where, int ret)
{
	/* SSL_CB_READ_ALERT shares its SSL_CB_ALERT bit with WRITE_ALERT: the
	 * alerts we send ourselves are not the broker's word. */
	if ((where & SSL_CB_READ_ALERT) != SSL_CB_READ_ALERT ||
	    strcmp(SSL_alert_type_string(ret), "F") != 0)
		return;
	struct mqtt_cause *c = SSL_get_ex_data(ssl, ex_index);
	if (c && !c->alert)
		c->alert = (ret & 0xff) + 1;
}

void mqtt_cause_watch(struct mqtt_cause *c, struct mosquitto *mosq)
{
	SSL *ssl = mosquitto_ssl_get(mosq);
	pthread_once(&ex_once, ex_init);
	if (!ssl || ex_index < 0 || !SSL_set_ex_data(ssl, ex_index, c))
		return;
	SSL_set_info_callback(ssl, on_ssl_info);
}

static const char *connack_text(int code)
{
	switch (code) {
	case CONNACK_REFUSED_PROTOCOL_VERSION:
		return "unacceptable protocol version";
	case CONNACK_REFUSED_IDENTIFIER_REJECTED:
		return "client identifier rejected";
	case CONNACK_REFUSED_SERVER_UNAVAILABLE:
		return "server unavailable";
	case CONNACK_REFUSED_BAD_USERNAME_PASSWORD:
		return "bad user name or password";
	case CONNACK_REFUSED_NOT_AUTHORIZED:
		return "not authorised (wrong user name or password, or this client may not connect)";
	default:
		return mosquitto_connack_string(code);
	}
}

/* What OpenSSL says when the other end speaks no TLS: it closed on our
 * ClientHello, or answered with something that is not a TLS record. */
static bool not_tls_reply(const char *reason)
{
	return strstr(reason, "unexpected eof") || strstr(reason, "wrong version number") ||
	       strstr(reason, "packet length too long") || strstr(reason, "record layer failure");
}

void mqtt_cause_format(const struct mqtt_cause *c, int rc, const char *host, bool tls, char *buf,
		       size_t n)
{
	if (c->connack) {
		snprintf(buf, n, "refused by the broker: %s", connack_text(c->connack));
	} else if (c->host_mismatch) {
		snprintf(buf, n,
			 "TLS: certificate verify failed (host name mismatch: the broker's "
			 "certificate is not for %s)",
			 host);
	} else if (c->verify) {
		snprintf(buf, n, "TLS: certificate verify failed (%s)",
			 X509_verify_cert_error_string(c->verify));
	} else if (tls && (c->alert == TLS13_AD_CERTIFICATE_REQUIRED + 1 ||
			   (!c->alert && !c->tls[0] && rc == MOSQ_ERR_ERRNO && c->err == EPROTO))) {
		/* A TLS 1.3 broker checks the client's certificate after the
		 * handshake: its alert is read, or our CONNECT hits the closed
		 * session first (libmosquitto then says only EPROTO). One text
		 * for both, so that the race does not read as a new cause. */
		snprintf(buf, n, "TLS: the broker ended the session before CONNACK (does the "
				 "listener require a client certificate?)");
	} else if (c->alert) {
		snprintf(buf, n, "TLS: the broker sent the alert \"%s\" (%d)",
			 SSL_alert_desc_string_long(c->alert - 1), c->alert - 1);
	} else if (c->tls[0]) {
		snprintf(buf, n, "TLS: %s%s", c->tls,
			 not_tls_reply(c->tls) ? " (is the port a TLS listener?)" : "");
	} else if (c->other[0]) {
		snprintf(buf, n, "%s%s", rc == MOSQ_ERR_TLS ? "TLS: " : "", c->other);
	} else if (rc == MOSQ_ERR_TLS) {
		snprintf(buf, n, "TLS: handshake failed");
	} else if (rc == MOSQ_ERR_ERRNO && c->err == ECONNREFUSED) {
		snprintf(buf, n, "connection refused (nothing listens on that port)");
	} else if (rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_PROTOCOL ||
		   (rc == MOSQ_ERR_ERRNO && (c->err == ECONNRESET || c->err == EPIPE))) {
		/* A TLS listener drops a plain CONNECT (or answers it with an
		 * alert that is no MQTT packet): reset, end of file or protocol
		 * error by timing, so none of them is named, lest one failure
		 * read as three causes. */
		snprintf(buf, n, "the broker closed the connection before answering CONNECT%s",
			 tls ? "" : " (is the port a TLS listener? TLS is not configured)");
	} else if (rc == MOSQ_ERR_ERRNO && c->err) {
		snprintf(buf, n, "%s", strerror(c->err));
	} else if (rc == MOSQ_ERR_KEEPALIVE) {
		snprintf(buf, n, "no CONNACK within the keepalive period");
	} else {
		snprintf(buf, n, "%s", mosquitto_strerror(rc));
	}
}
