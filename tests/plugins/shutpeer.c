/* shutpeer — companion of the shutpost test plugin. orbitd releases its
 * plugins one after the other on the loop thread when it stops, in file-name
 * order; from its shutdown hook this plugin calls shutpost's exported
 * shutpost_post_from_loop(), so that shutpost posts a function on the loop
 * thread right before its own release, with no loop pass in between. That
 * post was accepted while shutpost was alive and must be dropped, unrun.
 *
 * Config: peer: PATH, the path shutpost's file was loaded from (it is
 * found with dlopen(RTLD_NOLOAD), which never loads anything new).
 *
 * Ownership: static data only; the dlopen reference is dropped right away.
 */
#include <orbit/plugin.h>

#include <dlfcn.h>
#include <limits.h>
#include <string.h>

#define LOG_INFO 6

static orbit_host *g_h;
static const orbit_host_api *g_api;
static char g_peer[PATH_MAX];

static int pe_init(orbit_host *h, const orbit_host_api *api, void **state)
{
	g_h = h;
	g_api = api;
	*state = NULL;
	const char *peer = api->config_string(h, "peer");
	if (peer && strlen(peer) < sizeof g_peer)
		strcpy(g_peer, peer);
	return 0;
}

static void pe_shutdown(void *state)
{
	(void)state;
	if (!*g_peer)
		return;
	void *dl = dlopen(g_peer, RTLD_NOW | RTLD_NOLOAD);
	if (!dl) {
		g_api->log(g_h, LOG_INFO, "peer %s not loaded: %s", g_peer, dlerror());
		return;
	}
	void (*fn)(void);
	*(void **)&fn = dlsym(dl, "shutpost_post_from_loop");
	if (fn)
		fn();
	else
		g_api->log(g_h, LOG_INFO, "peer %s has no shutpost_post_from_loop", g_peer);
	dlclose(dl);
}

static const orbit_plugin_op ops[] = {
	{.name = "shutpeer_idle", .input = ORBIT_NONE,
	 .output = ORBIT_EMPTY},
};

static const orbit_cfg_key config[] = {
	{.name = "peer", .type = ORBIT_CFG_STRING, .doc = "the path shutpost was loaded from"},
	{0},
};

ORBIT_PLUGIN_DEFINE("shutpeer", "1.0.0", ops, config, pe_init, NULL, NULL, pe_shutdown);
