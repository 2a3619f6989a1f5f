/* main.c — orbitd's command line: parse options, validate (-t) or run the
 * daemon in the foreground. Everything else lives in the modules. */
#include "daemon.h"
#include "log.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: orbitd [-c FILE] [-p DIR] [-s SOCKET] [-l LEVEL] [-t] [-V] [-h]\n"
		"  -c, --config FILE      configuration file (conf.d/ beside it is read too)\n"
		"  -p, --plugin-dir DIR   load plugins from DIR instead of plugins.dir\n"
		"  -s, --socket PATH      control socket instead of control.socket\n"
		"  -l, --log-level LEVEL  debug, info, notice, warning or error\n"
		"  -t, --test             validate the configuration and exit\n"
		"  -V, --version          print the version and exit\n"
		"  -h, --help             this text\n");
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
		{0},
	};
	struct daemon_opts opts = {.log_level = -1};
	int test = 0, c;
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
	if (test) {
		printf("orbitd: configuration OK: %s (%zu file%s, %zu requirement%s, %zu plugin "
		       "section%s)\n",
		       cfg->n_files ? cfg->files[0] : "<built-in>", cfg->n_files,
		       cfg->n_files == 1 ? "" : "s", cfg->n_reqs, cfg->n_reqs == 1 ? "" : "s",
		       cfg->plugins.n, cfg->plugins.n == 1 ? "" : "s");
		orbitd_config_free(cfg);
		return 0;
	}
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
