/* main.c — orbitctl: see and drive a running orbitd over its control
 * socket (orbitctl(1)). Options and commands are parsed here; conn.c speaks
 * the protocol, show.c and table.c print.
 */
#include "conn.h"
#include "graph.h"
#include "show.h"
#include "sockpath.h"
#include "stats.h"
#include "table.h"
#include "trace.h"
#include "top.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_S 10.0

enum {
	OPT_ALL = 256,
	OPT_ANY,
	OPT_PLUGIN,
	OPT_DISTRIBUTED,
	OPT_DATA,
	OPT_WAIT,
	OPT_GRACELESS,
	OPT_SIDE,
	OPT_REMOTE,
	OPT_OPERATION,
	OPT_SORT,
};

struct run {
	const char *name; /* the command */
	const char *socket;
	bool json;
	double timeout; /* <= 0: none */
	char **args;    /* positional arguments after the command */
	int nargs;
	/* execute */
	const char *mode;
	const char *plugin;
	json_t *data;
	double wait;
	/* close (and plugin: the hosted plugin) */
	bool graceless;
	const char *side;
	/* trace */
	const char *remote;
	const char *operation;
	/* top */
	struct top_opts top;
};

struct command {
	const char *name;
	const char *synopsis;
	int min_args, max_args;
	const struct option *options; /* the command's own, or NULL */
	int (*run)(struct run *r);
};

static const char usage_text[] =
	"Usage: orbitctl [-s SOCKET] [--json] [-t SECONDS] COMMAND [ARGS]\n"
	"\n"
	"Commands:\n"
	"  status                  identity, uptime, compliance, buses, counts, last reload\n"
	"  plugins                 local and remote plugins with their state\n"
	"  plugin show NAME        one plugin: operations, schemas, policies, config keys\n"
	"  plugin restart NAME     restart an isolated plugin's process now (also a failed one)\n"
	"  requirements            required operations; exit status 1 if one is unsatisfied\n"
	"  connections             open connections\n"
	"  pending                 connection requests still pending\n"
	"  graph                   cores, plugins and connections as a Graphviz DOT digraph\n"
	"  execute OP [--all|--any|--plugin ID|--distributed] [--data JSON]... [--wait SECONDS]\n"
	"                          send data to OP's plugins; print outputs as they arrive\n"
	"  watch                   print outputs and lifecycle events until interrupted\n"
	"  trace [--remote ID] [--operation OP]\n"
	"                          print every protocol message orbitd sends and receives,\n"
	"                          decoded, until interrupted\n"
	"  close OP REMOTE [--side core|plugin] [--plugin NAME] [--graceless]\n"
	"                          close a connection for OP with REMOTE: the core's to\n"
	"                          plugin REMOTE, or hosted plugin NAME's with core REMOTE\n"
	"  reload                  reload the configuration; print what changed\n"
	"  log-level LEVEL         set the log level: debug, info, notice, warning, error\n"
	"  version                 orbitctl's and orbitd's versions\n"
	"  stats                   per operation and connection: executions, outputs, errors,\n"
	"                          drops, bytes, handler latency p50/p90/p99; buses\n"
	"  top [-d SECS] [-n N] [--sort exec|latency]\n"
	"                          operations ranked live, with rates; q quits\n"
	"\n"
	"Options (before or after the command):\n"
	"  -s, --socket SOCKET     orbitd's control socket (default: $ORBITD_SOCKET, else\n"
	"                          the socket of an orbitd run by you, else " SOCKPATH_SYSTEM ")\n"
	"  -j, --json              print JSON instead of tables\n"
	"  -t, --timeout SECONDS   wait at most this long for a reply (default 10, 0: forever;\n"
	"                          for watch and trace only the connection is bounded)\n"
	"  -h, --help              print this help\n"
	"  -V, --version           print orbitctl's version\n"
	"\n"
	"Exit status: 0 ok, 1 failed or unsatisfied, 2 usage, 3 cannot connect,\n"
	"4 permission denied, 5 protocol mismatch. See orbitctl(1).\n";

/* The command being parsed, for its synopsis in usage errors. */
static const char *synopsis;

/* Report a usage error: the message, then the command's synopsis (or the
 * whole usage when there is no command yet). */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("orbitctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (synopsis)
		fprintf(stderr, "\nUsage: orbitctl [OPTIONS] %s\nTry 'orbitctl --help' for more.\n",
			synopsis);
	else
		fprintf(stderr, "\n\n%s", usage_text);
	return CTL_EXIT_USAGE;
}

static void print_json(json_t *v, size_t flags)
{
	json_dumpf(v, stdout, flags | JSON_ENCODE_ANY);
	fputc('\n', stdout);
	fflush(stdout);
}

/* Connect and run one request; *result on CTL_EXIT_OK. */
static int call(struct run *r, const char *cmd, json_t *args, double timeout, conn_event_fn on_event,
		void *arg, json_t **result)
{
	char *dflt = NULL;
	const char *path = r->socket;
	struct conn *c;
	int rc;

	if (!path || !*path)
		path = getenv("ORBITD_SOCKET");
	if (!path || !*path) {
		if (!(dflt = sockpath_client())) {
			json_decref(args);
			fputs("orbitctl: out of memory\n", stderr);
			return CTL_EXIT_FAILED;
		}
		path = dflt;
	}
	rc = conn_open(path, r->timeout, &c);
	if (rc == CTL_EXIT_OK) {
		rc = conn_call(c, cmd, args, timeout, on_event, arg, result);
		conn_close(c);
	} else {
		json_decref(args);
	}
	free(dflt);
	return rc;
}

static void on_sigint(int sig);

/* A request whose result is printed by show (or as JSON). */
static int simple(struct run *r, const char *cmd, json_t *args, void (*show)(FILE *, json_t *))
{
	json_t *res;
	int rc = call(r, cmd, args, r->timeout, NULL, NULL, &res);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (r->json)
		print_json(res, JSON_INDENT(2));
	else
		show(stdout, res);
	json_decref(res);
	return CTL_EXIT_OK;
}

static int run_status(struct run *r)
{
	return simple(r, "status", NULL, show_status);
}

static int run_plugins(struct run *r)
{
	return simple(r, "plugins", NULL, show_plugins);
}

static int run_plugin(struct run *r)
{
	if (r->nargs != 2 || (strcmp(r->args[0], "show") != 0 && strcmp(r->args[0], "restart") != 0))
		return usage_error("plugin: the subcommands are 'show NAME' and 'restart NAME'");
	if (strcmp(r->args[0], "show") == 0)
		return simple(r, "plugin", json_pack("{s:s}", "name", r->args[1]), show_plugin);
	json_t *res;
	int rc = call(r, "plugin-restart", json_pack("{s:s}", "name", r->args[1]), r->timeout, NULL,
		      NULL, &res);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (r->json)
		print_json(res, JSON_INDENT(2));
	else
		printf("plugin %s restarting\n", r->args[1]);
	json_decref(res);
	return CTL_EXIT_OK;
}

static int run_requirements(struct run *r)
{
	json_t *res;
	int rc = call(r, "requirements", NULL, r->timeout, NULL, NULL, &res);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (r->json)
		print_json(res, JSON_INDENT(2));
	else
		show_requirements(stdout, res);
	rc = show_unsatisfied(res) ? CTL_EXIT_FAILED : CTL_EXIT_OK;
	json_decref(res);
	return rc;
}

static int run_connections(struct run *r)
{
	return simple(r, "connections", NULL, show_connections);
}

/* The DOT digraph from three results: always DOT, also with --json (whose
 * data the three commands give). */
static int run_graph(struct run *r)
{
	static const char *const cmds[] = {"status", "plugins", "connections"};
	json_t *res[3] = {NULL, NULL, NULL};
	int rc = CTL_EXIT_OK;
	for (size_t i = 0; i < 3 && rc == CTL_EXIT_OK; i++)
		rc = call(r, cmds[i], NULL, r->timeout, NULL, NULL, &res[i]);
	if (rc == CTL_EXIT_OK)
		graph_dot(stdout, res[0], res[1], res[2]);
	for (size_t i = 0; i < 3; i++)
		json_decref(res[i]);
	return rc;
}

static int run_pending(struct run *r)
{
	return simple(r, "pending", NULL, show_pending);
}

static void on_execute_event(void *arg, json_t *ev)
{
	const struct run *r = arg;
	const char *type = json_string_value(json_object_get(ev, "type"));
	if (r->json) {
		print_json(ev, JSON_COMPACT);
	} else if (type && !strcmp(type, "overflow")) {
		fprintf(stderr, "orbitctl: %" JSON_INTEGER_FORMAT " outputs dropped (read too slowly)\n",
			json_integer_value(json_object_get(ev, "dropped")));
	} else {
		show_output_event(stdout, ev);
		fflush(stdout);
	}
}

static int run_execute(struct run *r)
{
	json_t *res, *args, *wait;
	double timeout = r->timeout > 0 ? r->timeout + r->wait : 0;

	if (!json_array_size(r->data))
		json_array_append_new(r->data, json_null());
	wait = r->wait == floor(r->wait) && r->wait < 1e15 ? json_integer((json_int_t)r->wait)
							   : json_real(r->wait);
	args = json_pack("{s:s,s:s,s:O,s:o}", "operation", r->args[0], "mode",
			 r->mode ? r->mode : "all", "data", r->data, "wait", wait);
	if (args && r->plugin)
		json_object_set_new(args, "plugin", json_string(r->plugin));
	if (!args) {
		fputs("orbitctl: out of memory\n", stderr);
		return CTL_EXIT_FAILED;
	}
	int rc = call(r, "execute", args, timeout, on_execute_event, r, &res);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (r->json)
		print_json(res, JSON_COMPACT);
	else
		show_execute_result(stdout, res);
	json_decref(res);
	return CTL_EXIT_OK;
}

static int run_stats(struct run *r)
{
	return simple(r, "stats", NULL, show_stats);
}

static int fetch_stats(void *ctx, json_t **doc)
{
	struct run *r = ctx;
	return call(r, "stats", NULL, r->timeout, NULL, NULL, doc);
}

static int run_top(struct run *r)
{
	if (r->json)
		return usage_error("top: no --json (use 'orbitctl --json stats')");
	struct sigaction sa = {.sa_handler = on_sigint};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	return top_run(&r->top, fetch_stats, r);
}

static void on_watch_event(void *arg, json_t *ev)
{
	const struct run *r = arg;
	if (r->json)
		print_json(ev, JSON_COMPACT);
	else
		show_watch_event(stdout, ev);
	fflush(stdout);
}

static void on_sigint(int sig)
{
	(void)sig;
	conn_interrupted = 1;
}

/* A stream that lasts until interrupted (SIGINT ends it with status 0). */
static int stream(struct run *r, const char *cmd, json_t *args, conn_event_fn on_event)
{
	struct sigaction sa = {.sa_handler = on_sigint};
	json_t *res;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	int rc = call(r, cmd, args, 0, on_event, r, &res);
	if (rc == CTL_EXIT_INTERRUPTED)
		return CTL_EXIT_OK;
	if (rc == CTL_EXIT_OK) {
		json_decref(res);
		fprintf(stderr, "orbitctl: %s: orbitd ended the stream\n", cmd);
		return CTL_EXIT_FAILED;
	}
	return rc;
}

static int run_watch(struct run *r)
{
	return stream(r, "watch", NULL, on_watch_event);
}

static void on_trace_event(void *arg, json_t *ev)
{
	const struct run *r = arg;
	if (r->json)
		print_json(ev, JSON_COMPACT);
	else
		trace_show_event(stdout, ev);
	fflush(stdout);
}

static int run_trace(struct run *r)
{
	json_t *args = trace_args(r->remote, r->operation);
	if (!args) {
		fputs("orbitctl: out of memory\n", stderr);
		return CTL_EXIT_FAILED;
	}
	return stream(r, "trace", args, on_trace_event);
}

static int run_close(struct run *r)
{
	json_t *res, *args = json_pack("{s:s,s:s,s:b}", "operation", r->args[0], "remote",
				       r->args[1], "graceless", r->graceless);
	if (args && r->side)
		json_object_set_new(args, "side", json_string(r->side));
	if (args && r->plugin)
		json_object_set_new(args, "plugin", json_string(r->plugin));
	int rc = call(r, "close", args, r->timeout, NULL, NULL, &res);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (r->json) {
		print_json(res, JSON_INDENT(2));
	} else if (json_is_string(json_object_get(res, "plugin"))) {
		printf("closing plugin %s's connection with %s for %s (%s)\n",
		       json_string_value(json_object_get(res, "plugin")), r->args[1], r->args[0],
		       r->graceless ? "graceless" : "graceful");
	} else {
		printf("closing the connection to %s for %s (%s)\n", r->args[1], r->args[0],
		       r->graceless ? "graceless" : "graceful");
	}
	json_decref(res);
	return CTL_EXIT_OK;
}

static int run_reload(struct run *r)
{
	json_t *res;
	int rc = call(r, "reload", NULL, r->timeout, NULL, NULL, &res);
	if (rc != CTL_EXIT_OK)
		return rc;
	const char *changes = json_string_value(json_object_get(res, "changes"));
	if (r->json) {
		print_json(res, JSON_INDENT(2));
	} else {
		char *c = table_strf("%s", changes && *changes ? changes : "reloaded");
		printf("%s\n", table_clean(c));
		free(c);
	}
	json_decref(res);
	return CTL_EXIT_OK;
}

static int run_log_level(struct run *r)
{
	json_t *res;
	int rc = call(r, "log-level", json_pack("{s:s}", "level", r->args[0]), r->timeout, NULL,
		      NULL, &res);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (r->json) {
		print_json(res, JSON_INDENT(2));
	} else {
		char *c = table_strf("log level: %s",
				     json_string_value(json_object_get(res, "level"))
					     ? json_string_value(json_object_get(res, "level"))
					     : r->args[0]);
		printf("%s\n", table_clean(c));
		free(c);
	}
	json_decref(res);
	return CTL_EXIT_OK;
}

static int run_version(struct run *r)
{
	json_t *res;
	if (!r->json) {
		printf("orbitctl %s\n", ORBIT_VERSION);
		fflush(stdout);
	}
	int rc = call(r, "version", NULL, r->timeout, NULL, NULL, &res);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (r->json) {
		json_object_set_new(res, "orbitctl", json_string(ORBIT_VERSION));
		print_json(res, JSON_INDENT(2));
	} else {
		json_t *abi = json_object_get(res, "abi");
		char *s = table_strf("orbitd %s (plugin ABI %" JSON_INTEGER_FORMAT ".%" JSON_INTEGER_FORMAT
				     ")",
				     json_string_value(json_object_get(res, "version"))
					     ? json_string_value(json_object_get(res, "version"))
					     : "?",
				     json_integer_value(json_object_get(abi, "major")),
				     json_integer_value(json_object_get(abi, "minor")));
		printf("%s\n", table_clean(s));
		free(s);
	}
	json_decref(res);
	return CTL_EXIT_OK;
}

static const struct option execute_options[] = {
	{"all", no_argument, NULL, OPT_ALL},
	{"any", no_argument, NULL, OPT_ANY},
	{"plugin", required_argument, NULL, OPT_PLUGIN},
	{"distributed", no_argument, NULL, OPT_DISTRIBUTED},
	{"data", required_argument, NULL, OPT_DATA},
	{"wait", required_argument, NULL, OPT_WAIT},
	{NULL, 0, NULL, 0},
};

static const struct option trace_options[] = {
	{"remote", required_argument, NULL, OPT_REMOTE},
	{"operation", required_argument, NULL, OPT_OPERATION},
	{NULL, 0, NULL, 0},
};

static const struct option close_options[] = {
	{"graceless", no_argument, NULL, OPT_GRACELESS},
	{"side", required_argument, NULL, OPT_SIDE},
	{"plugin", required_argument, NULL, OPT_PLUGIN},
	{NULL, 0, NULL, 0},
};

static const struct option top_options[] = {
	{"delay", required_argument, NULL, 'd'},
	{"frames", required_argument, NULL, 'n'},
	{"sort", required_argument, NULL, OPT_SORT},
	{NULL, 0, NULL, 0},
};

static const struct command commands[] = {
	{"status", "status", 0, 0, NULL, run_status},
	{"plugins", "plugins", 0, 0, NULL, run_plugins},
	{"plugin", "plugin show|restart NAME", 2, 2, NULL, run_plugin},
	{"requirements", "requirements", 0, 0, NULL, run_requirements},
	{"connections", "connections", 0, 0, NULL, run_connections},
	{"pending", "pending", 0, 0, NULL, run_pending},
	{"graph", "graph", 0, 0, NULL, run_graph},
	{"execute",
	 "execute OP [--all|--any|--plugin ID|--distributed] [--data JSON]... [--wait SECONDS]", 1,
	 1, execute_options, run_execute},
	{"watch", "watch", 0, 0, NULL, run_watch},
	{"trace", "trace [--remote ID] [--operation OP]", 0, 0, trace_options, run_trace},
	{"close", "close OP REMOTE [--side core|plugin] [--plugin NAME] [--graceless]", 2, 2,
	 close_options, run_close},
	{"reload", "reload", 0, 0, NULL, run_reload},
	{"log-level", "log-level LEVEL", 1, 1, NULL, run_log_level},
	{"version", "version", 0, 0, NULL, run_version},
	{"stats", "stats", 0, 0, NULL, run_stats},
	{"top", "top [-d SECS] [-n N] [--sort exec|latency]", 0, 0, top_options, run_top},
};

static const struct option global_options[] = {
	{"socket", required_argument, NULL, 's'},
	{"json", no_argument, NULL, 'j'},
	{"timeout", required_argument, NULL, 't'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
};
#define N_GLOBAL (sizeof global_options / sizeof global_options[0])
#define GLOBAL_SHORT ":s:jt:hV"

/* A number of seconds >= 0. */
static int parse_seconds(const char *what, const char *s, double *out)
{
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	if (!*s || *end || errno || !isfinite(d) || d < 0)
		return usage_error("%s: '%s' is not a number of seconds", what, s);
	*out = d;
	return CTL_EXIT_OK;
}

/* where: the command, or NULL before it. */
static int bad_option(const char *where, int opt, int optopt_, char *const *argv)
{
	const char *arg = argv[optind - 1];
	const char *sep = where ? ": " : "";
	if (!where)
		where = "";
	if (opt == ':')
		return usage_error("%s%soption '%s' needs a value", where, sep, arg);
	if (optopt_ && optopt_ < 256)
		return usage_error("%s%sunknown option '-%c'", where, sep, optopt_);
	return usage_error("%s%sunknown option '%s'", where, sep, arg);
}

/* -s, -j, -t; CTL_EXIT_OK, CTL_EXIT_USAGE, or -1 when done (help, version
 * printed). */
static int global_option(struct run *r, int opt)
{
	switch (opt) {
	case 's':
		r->socket = optarg;
		return CTL_EXIT_OK;
	case 'j':
		r->json = true;
		return CTL_EXIT_OK;
	case 't':
		return parse_seconds("--timeout", optarg, &r->timeout);
	case 'h':
		fputs(usage_text, stdout);
		return -1;
	case 'V':
		printf("orbitctl %s\n", ORBIT_VERSION);
		return -1;
	}
	return CTL_EXIT_USAGE;
}

static int set_mode(struct run *r, const char *mode)
{
	if (r->mode && strcmp(r->mode, mode) != 0)
		return usage_error("execute: choose one of --all, --any, --plugin, --distributed");
	r->mode = mode;
	return CTL_EXIT_OK;
}

static int command_option(struct run *r, int opt)
{
	json_error_t jerr;
	json_t *v;
	switch (opt) {
	case OPT_ALL:
		return set_mode(r, "all");
	case OPT_ANY:
		return set_mode(r, "any");
	case OPT_DISTRIBUTED:
		return set_mode(r, "distributed");
	case OPT_PLUGIN:
		r->plugin = optarg;
		return set_mode(r, "plugin");
	case OPT_DATA:
		if (!(v = json_loads(optarg, JSON_DECODE_ANY, &jerr)))
			return usage_error("execute: --data '%s' is not JSON (%s)%s", optarg, jerr.text,
					   strchr("{[\"-0123456789tfn", optarg[0])
						   ? ""
						   : "; a string needs quotes: --data '\"text\"'");
		json_array_append_new(r->data, v);
		return CTL_EXIT_OK;
	case OPT_WAIT:
		return parse_seconds("execute: --wait", optarg, &r->wait);
	case OPT_GRACELESS:
		r->graceless = true;
		return CTL_EXIT_OK;
	case OPT_SIDE:
		if (strcmp(optarg, "core") && strcmp(optarg, "plugin"))
			return usage_error("close: --side is core or plugin, not '%s'", optarg);
		r->side = optarg;
		return CTL_EXIT_OK;
	case OPT_REMOTE:
		r->remote = optarg;
		return CTL_EXIT_OK;
	case OPT_OPERATION:
		r->operation = optarg;
		return CTL_EXIT_OK;
	case 'd':
		if (parse_seconds("top: -d", optarg, &r->top.delay) != CTL_EXIT_OK)
			return CTL_EXIT_USAGE;
		return r->top.delay > 0 ? CTL_EXIT_OK : usage_error("top: -d must be > 0");
	case 'n': {
		char *end;
		errno = 0;
		long n = strtol(optarg, &end, 10);
		if (!*optarg || *end || errno || n < 1)
			return usage_error("top: -n '%s' is not a number of frames >= 1", optarg);
		r->top.frames = n;
		return CTL_EXIT_OK;
	}
	case OPT_SORT:
		if (strcmp(optarg, "exec") && strcmp(optarg, "latency"))
			return usage_error("top: --sort takes exec or latency, not '%s'", optarg);
		r->top.by_latency = !strcmp(optarg, "latency");
		return CTL_EXIT_OK;
	}
	return CTL_EXIT_USAGE;
}

/* Parse argv[0] (the command name) onwards: the global options again, the
 * command's own, and its positional arguments. */
static int parse_command(struct run *r, const struct command *cmd, int argc, char **argv)
{
	struct option opts[N_GLOBAL + 8];
	size_t n = 0;
	memcpy(opts, global_options, sizeof global_options);
	n = N_GLOBAL;
	for (const struct option *o = cmd->options; o && o->name; o++)
		opts[n++] = *o;
	opts[n] = (struct option){NULL, 0, NULL, 0};

	/* The command's own short options (those whose val is a letter). */
	char shorts[sizeof GLOBAL_SHORT + 16] = GLOBAL_SHORT;
	size_t k = strlen(shorts);
	for (const struct option *o = cmd->options; o && o->name; o++)
		if (o->val < 256 && k + 3 < sizeof shorts) {
			shorts[k++] = (char)o->val;
			if (o->has_arg == required_argument)
				shorts[k++] = ':';
			shorts[k] = '\0';
		}

	optind = 0;
	opterr = 0;
	int opt, rc;
	while ((opt = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		if (opt == '?' || opt == ':')
			return bad_option(cmd->name, opt, optopt, argv);
		rc = opt < 256 && strchr(GLOBAL_SHORT, opt) ? global_option(r, opt)
							    : command_option(r, opt);
		if (rc != CTL_EXIT_OK)
			return rc;
	}
	r->args = argv + optind;
	r->nargs = argc - optind;
	if (r->nargs < cmd->min_args || r->nargs > cmd->max_args)
		return usage_error("%s: %s", cmd->name,
				   r->nargs < cmd->min_args ? "missing arguments" : "too many arguments");
	return CTL_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct run r = {.timeout = DEFAULT_TIMEOUT_S, .top = {.delay = 1.0}};
	const struct command *cmd = NULL;
	int opt, rc;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+" GLOBAL_SHORT, global_options, NULL)) != -1) {
		if (opt == '?' || opt == ':')
			return bad_option(NULL, opt, optopt, argv);
		if ((rc = global_option(&r, opt)) != CTL_EXIT_OK)
			return rc < 0 ? CTL_EXIT_OK : rc;
	}
	if (optind >= argc)
		return usage_error("no command given");
	if (!strcmp(argv[optind], "help")) {
		fputs(usage_text, stdout);
		return CTL_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[optind], commands[i].name))
			cmd = &commands[i];
	if (!cmd)
		return usage_error("unknown command '%s'", argv[optind]);
	r.name = cmd->name;
	synopsis = cmd->synopsis;
	if (!(r.data = json_array())) {
		fputs("orbitctl: out of memory\n", stderr);
		return CTL_EXIT_FAILED;
	}
	rc = parse_command(&r, cmd, argc - optind, argv + optind);
	if (rc == CTL_EXIT_OK) {
		table_set_colour(!r.json && isatty(STDOUT_FILENO) &&
				 !(getenv("NO_COLOR") && *getenv("NO_COLOR")) &&
				 !(getenv("TERM") && !strcmp(getenv("TERM"), "dumb")));
		rc = cmd->run(&r);
	} else if (rc < 0) {
		rc = CTL_EXIT_OK;
	}
	json_decref(r.data);
	if (fflush(stdout) != 0 && rc == CTL_EXIT_OK) {
		fprintf(stderr, "orbitctl: cannot write the output: %s\n", strerror(errno));
		rc = CTL_EXIT_FAILED;
	}
	return rc;
}
