/* main.c — orbitd's command line: parse options, validate (-t), try one
 * plugin operation (--try) or run the daemon in the foreground. Everything
 * else lives in the modules. */
#include "daemon.h"
#include "loader.h"
#include "log.h"
#include "plugtry.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: orbitd [-c FILE] [-p DIR] [-s SOCKET] [-l LEVEL] [-t] [-V] [-h]\n"
		"       orbitd --try PLUGIN.so OPERATION [--data JSON] [--plugin-config YAML]\n"
		"              [--timeout SECONDS] [-l LEVEL]\n"
		"  -c, --config FILE      configuration file (conf.d/ beside it is read too)\n"
		"  -p, --plugin-dir DIR   load plugins from DIR instead of plugins.dir\n"
		"  -s, --socket PATH      control socket instead of control.socket\n"
		"  -l, --log-level LEVEL  debug, info, notice, warning or error\n"
		"  -t, --test             validate the configuration and the plugin directory's\n"
		"                         plugins against it (loads them, never starts them), exit\n"
		"  --try                  load PLUGIN.so alone, execute OPERATION once with\n"
		"                         --data (JSON, default null) and print the output as JSON;\n"
		"                         --plugin-config is its config: section (YAML or JSON),\n"
		"                         --timeout the wait for the output (default 5); exit 0 on\n"
		"                         an output, 1 on an error or timeout\n"
		"  -V, --version          print the version and exit\n"
		"  -h, --help             this text\n");
}

static void print_check(void *ctx, const char *file, const char *name, const char *why)
{
	(void)ctx;
	if (why)
		fprintf(stderr, "orbitd: plugin %s%s%s%s: %s\n", file, name ? " (" : "",
			name ? name : "", name ? ")" : "", why);
}

/* A warning, not an error: the plugin may be dropped in later. */
static void print_unmatched(void *ctx, const struct lunmatched *u)
{
	(void)ctx;
	fprintf(stderr, "orbitd: warning: %s\n", u->message);
}

/* orbitd -t: the configuration, then every plugin of the directory against it. */
static int test_config(struct orbitd_config *cfg)
{
	int problems = loader_check_dir(cfg->plugins.dir, cfg, print_check, print_unmatched, NULL);
	if (problems < 0)
		fprintf(stderr, "orbitd: plugin directory %s not checked: %s\n", cfg->plugins.dir,
			strerror(-problems));
	if (problems > 0) {
		fprintf(stderr, "orbitd: %d plugin%s would be rejected\n", problems,
			problems == 1 ? "" : "s");
		orbitd_config_free(cfg);
		return 1;
	}
	printf("orbitd: configuration OK: %s (%zu file%s, %zu requirement%s, %zu plugin "
	       "section%s)\n",
	       cfg->n_files ? cfg->files[0] : "<built-in>", cfg->n_files,
	       cfg->n_files == 1 ? "" : "s", cfg->n_reqs, cfg->n_reqs == 1 ? "" : "s",
	       cfg->plugins.n, cfg->plugins.n == 1 ? "" : "s");
	orbitd_config_free(cfg);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"plugin-dir", required_argument, NULL, 'p'},
		{"socket", required_argument, NULL, 's'},
		{"log-level", required_argument, NULL, 'l'},
		{"test", no_argument, NULL, 't'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{"try", no_argument, NULL, 'T'},
		{"data", required_argument, NULL, 'D'},
		{"plugin-config", required_argument, NULL, 'C'},
		{"timeout", required_argument, NULL, 'W'},
		{0},
	};
	struct daemon_opts opts = {.log_level = -1};
	struct plugtry_opts try = {.timeout = 5};
	int test = 0, try_mode = 0, try_only = 0, c;
	while ((c = getopt_long(argc, argv, "c:p:s:l:tVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opts.config_path = optarg;
			break;
		case 'p':
			opts.plugin_dir = optarg;
			break;
		case 's':
			opts.socket = optarg;
			break;
		case 'l':
			if (olog_parse_level(optarg, &opts.log_level) < 0) {
				fprintf(stderr, "orbitd: unknown log level '%s'\n", optarg);
				return 2;
			}
			break;
		case 't':
			test = 1;
			break;
		case 'T':
			try_mode = 1;
			break;
		case 'D':
			try.data_json = optarg;
			try_only = 1;
			break;
		case 'C':
			try.config_yaml = optarg;
			try_only = 1;
			break;
		case 'W': {
			char *end;
			try.timeout = strtod(optarg, &end);
			if (*end || !(try.timeout > 0) || try.timeout > 86400) {
				fprintf(stderr, "orbitd: --timeout wants seconds > 0, not '%s'\n",
					optarg);
				return 2;
			}
			try_only = 1;
			break;
		}
		case 'V':
			printf("orbitd %s\n", ORBIT_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (try_only && !try_mode) {
		fprintf(stderr, "orbitd: --data, --plugin-config and --timeout go with --try\n");
		usage(stderr);
		return 2;
	}
	if (try_mode) {
		if (argc - optind != 2 || test || opts.config_path || opts.plugin_dir ||
		    opts.socket) {
			fprintf(stderr, "orbitd: --try takes PLUGIN.so OPERATION and no -c, -p, -s "
					"or -t\n");
			usage(stderr);
			return 2;
		}
		try.path = argv[optind];
		try.operation = argv[optind + 1];
		olog_set_level(opts.log_level >= 0 ? opts.log_level : LOG_INFO);
		return plugtry_run(&try);
	}
	if (optind < argc) {
		fprintf(stderr, "orbitd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	char *err = NULL;
	struct orbitd_config *cfg = daemon_load_config(&opts, &err);
	if (!cfg) {
		fprintf(stderr, "orbitd: %s\n", err ? err : "cannot load the configuration");
		free(err);
		return 1;
	}
	if (test)
		return test_config(cfg);
	struct daemon *d = daemon_new(&opts, cfg, &err);
	if (!d) {
		olog(LOG_ERR, "cannot start: %s", err ? err : "out of memory");
		free(err);
		return 1;
	}
	int rc = daemon_run(d);
	daemon_free(d);
	olog(LOG_NOTICE, "stopped");
	return rc;
}
