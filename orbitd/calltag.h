/* calltag.h — correlation of the daemon's executions with the outputs that
 * answer them, for hosted plugins (in-process and isolated), without a byte
 * of the Orbitalis wire changed: the protocol has no call id, so the id
 * travels beside the messages, never in them.
 *
 * A call is one input the daemon's core sent to one connection. Tags ride
 * along the messages in per-topic FIFOs: the core's input is tagged on the
 * connection's input topic when it is published (calltag_send); the host
 * takes the tag when the input reaches the handler (calltag_take); each
 * output the host sends for the call is tagged on the output topic
 * (calltag_output) and the core's sink takes that tag when the output
 * arrives (calltag_arrived); the host says when the call has ended and how
 * many outputs it sent (calltag_done). The in-process bus delivers each
 * topic in order, and the link to a plugin process is one ordered stream,
 * so order alone pairs a message with its tag. Each tag also holds a
 * fingerprint of the message's bytes, checked when it is taken: a message
 * lost on the way (a link frame dropped at its bound, a topic unsubscribed
 * meanwhile) costs only its own tag, and a message nobody tagged (an emit
 * to every core) is never taken for a call's answer — unless its bytes are
 * the very same as that answer's, which then cannot be told apart anyway.
 *
 * Connections to remote plugins (MQTT) are tagged too, but nobody takes
 * their tags: a call never taken stays "not hosted", and its outputs can be
 * matched by connection and time only (ctlcmds.c, sink records).
 *
 * In a plugin process the host's side (take, output, done) is the same
 * code; calltag_relay sends output and done over the link instead, and
 * plugchild.c feeds the takes from the daemon's tag frames. The daemon
 * accepts a relayed output or end only from the process that took the
 * call's input (calltag_take's taker).
 *
 * Everything is process-global state of the loop thread, with bounds: at
 * most CALLTAG_MAX_CALLS calls are remembered (the oldest is forgotten
 * first: its outputs become uncorrelated), at most CALLTAG_MAX_TAGS tags
 * wait and CALLTAG_MAX_TOPICS topics hold them (the oldest go first: a
 * remote connection's tags are never taken). Past those bounds a message
 * whose tag went may be taken for a later message of the same bytes on the
 * same connection; short of them, never.
 *
 * Ownership: strings and payloads passed in are borrowed for the call.
 */
#ifndef ORBITD_CALLTAG_H
#define ORBITD_CALLTAG_H

#include <orbit/types.h>

#include <stdbool.h>
#include <stdint.h>

#define CALLTAG_MAX_CALLS 16384u
#define CALLTAG_MAX_TAGS 16384u
#define CALLTAG_MAX_TOPICS 1024u

/* What the sink learns about one output. */
struct calltag_match {
	uint64_t call;  /* 0: the output answers no call known here */
	double latency; /* call: seconds from its send to the output's arrival */
};

/* Fingerprint of a message (format, type and bytes). */
uint64_t calltag_fp(const orbit_payload *p);

/* Daemon: a new call whose input p goes out now on topic. Returns its id
 * (never 0), or 0 when memory ran out (the call then goes uncorrelated). */
uint64_t calltag_send(const char *topic, const orbit_payload *p);

/* Push a tag for id on topic (fingerprint fp): the next message of that
 * fingerprint on topic belongs to call id. For plugchild.c, which learns
 * tags from the daemon's frames; 0 or -ENOMEM. */
int calltag_push(const char *topic, uint64_t id, uint64_t fp);

/* The message p arrived on topic: the id of the call it belongs to, or 0.
 * taker identifies who took it (the host, or the plugin process a DELIVER
 * carries it to): later outputs and the end of the call are accepted from
 * that taker only. The call is then "hosted". */
uint64_t calltag_take(const char *topic, const orbit_payload *p, const void *taker);

/* Host: output p of call id is about to be published on topic.
 * In a plugin process: relayed (see calltag_relay). */
void calltag_output(uint64_t id, const char *topic, const orbit_payload *p, const void *taker);

/* Host: the output calltag_output announced for call id on topic was not
 * published after all (a plugin process cannot take it back: its relayed
 * tag is dropped by the next message of other bytes). */
void calltag_unsent(uint64_t id, const char *topic);

/* Host: call id has ended; it published `outputs` outputs. In a plugin
 * process: relayed. */
void calltag_done(uint64_t id, unsigned outputs, const void *taker);

/* taker is gone (a plugin process died or was stopped): every call it took
 * and did not end has ended with the outputs that arrived, so that an
 * execute waiting for it returns instead of waiting out --wait. */
void calltag_taker_gone(const void *taker);

/* Core's sink: output p arrived on topic. Fills *m (call 0 when it
 * answers no call). Counts it toward the call's completion, which is
 * announced by calltag_settle once the output has been handed on. */
void calltag_arrived(const char *topic, const orbit_payload *p, struct calltag_match *m);

/* After the output of call id has been handed on: announce the call's
 * completion if it is complete (see calltag_set_complete). 0: nothing. */
void calltag_settle(uint64_t id);

/* Whether call id is known and was taken by a host (false: remote, not yet
 * delivered, or forgotten). */
bool calltag_hosted(uint64_t id);

/* Seconds since call id was sent (-1 when unknown). */
double calltag_age(uint64_t id);

/* Told once per call when it has ended and every output it sent has
 * arrived at the core's sink. One listener per process (the daemon's
 * control); NULL removes it. */
void calltag_set_complete(void (*fn)(void *ctx, uint64_t id), void *ctx);

/* Plugin process: outputs and ends of calls go to these instead of the
 * local tables (fp: the output's fingerprint). */
void calltag_relay(void (*output)(void *ctx, uint64_t id, uint64_t fp),
		   void (*done)(void *ctx, uint64_t id, unsigned outputs), void *ctx);

/* Forget every call, tag and hook (a plugin process starts with this:
 * what it inherited from the daemon is not its own). */
void calltag_reset(void);

#endif
