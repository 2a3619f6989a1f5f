/* mqtt_tls.h — the state of a libmosquitto session's TLS handshake, for the
 * bus that drives libmosquitto from its own event loop.
 *
 * libmosquitto 2.0 advances a TLS handshake it could not finish inside
 * mosquitto_connect_async only from mosquitto_loop_read (its own
 * mosquitto_loop calls an internal function on writable too), and
 * mosquitto_want_write says nothing useful meanwhile. A handshake that
 * started before the TCP connection was up (EINPROGRESS, under load or over
 * a real network) would wait for a read that never comes.
 *
 * Borrows the session's SSL object; owns nothing.
 */
#ifndef ORBIT_MQTT_TLS_H
#define ORBIT_MQTT_TLS_H

#include <stdbool.h>

struct mosquitto;

/* True while mosq has a TLS session whose handshake is unfinished. */
bool mqtt_tls_handshaking(struct mosquitto *mosq);

/* True when that handshake waits to write (its record did not fit the
 * socket, or the socket was not connected yet). */
bool mqtt_tls_wants_write(struct mosquitto *mosq);

#endif
