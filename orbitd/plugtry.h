/* plugtry.h — `orbitd --try`: run one operation of one plugin file once, on
 * a private in-process bus with a private core, and print its output. For
 * plugin authors and for checking a build before it goes into the plugin
 * directory; no config file, no control socket, no MQTT.
 */
#ifndef ORBITD_PLUGTRY_H
#define ORBITD_PLUGTRY_H

/* What to run. Strings borrowed for the call. */
struct plugtry_opts {
	const char *path;        /* the .so */
	const char *operation;
	const char *data_json;   /* the input as JSON (converted by the operation's
				    input kind or schema); NULL: null */
	const char *config_yaml; /* the plugin's config: section as YAML or JSON;
				    NULL: none (defaults) */
	double timeout;          /* seconds from start to the output */
};

/* Load the plugin with the daemon's checks, build its config, start it,
 * connect a core, execute once. The output goes to stdout as one line of
 * JSON; errors and logs to stderr. Returns the exit status: 0 an output
 * came (or the operation gives none and its handler succeeded), 1 the
 * plugin was rejected, its config or the data did not fit, the handler
 * failed or the timeout passed. */
int plugtry_run(const struct plugtry_opts *o);

#endif
