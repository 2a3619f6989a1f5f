/* mqtt_tls.c — see mqtt_tls.h. */
#include "mqtt_tls.h"

#include <mosquitto.h>
#include <openssl/ssl.h>

bool mqtt_tls_handshaking(struct mosquitto *mosq)
{
	SSL *ssl = mosquitto_ssl_get(mosq);
	return ssl && !SSL_is_init_finished(ssl);
}

bool mqtt_tls_wants_write(struct mosquitto *mosq)
{
	SSL *ssl = mosquitto_ssl_get(mosq);
	return ssl && SSL_want_write(ssl);
}
