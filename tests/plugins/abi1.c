/* abi1 — test plugin built for plugin ABI 1: its descriptor is ABI 1's
 * layout written out by hand (the header it was built with is gone), as a
 * plugin compiled against orbitd 0.1 exports it. The loader must reject it
 * with a reason that says to rebuild, reading nothing past the head that
 * every ABI shares (magic, major, minor).
 */
#include <orbit/plugin.h>

struct v1_io {
	int kind;
	const char *schema;
};

struct v1_op {
	const char *name;
	struct v1_io input, output;
	struct {
		int maximum;
		const char *const *allowlist, *const *blocklist;
	} policy;
	int (*handler)(void *state, void *call);
	unsigned flags;
};

struct v1_desc {
	uint64_t magic;
	uint16_t abi_major, abi_minor;
	uint32_t size, op_size;
	const char *name, *version;
	const struct v1_op *ops;
	size_t n_ops;
	int (*init)(void *h, const void *api, void **state);
	int (*start)(void *state);
	int (*reload)(void *state, const char *config_json);
	void (*shutdown)(void *state);
};

static int ignore(void *state, void *call)
{
	(void)state;
	(void)call;
	return 0;
}

static const struct v1_op ops[] = {
	{.name = "abi1", .input = {ORBIT_IO_STRING, NULL}, .output = {ORBIT_IO_STRING, NULL},
	 .handler = ignore},
};

ORBIT_PLUGIN_EXPORT const struct v1_desc orbit_plugin_descriptor = {
	.magic = ORBIT_PLUGIN_MAGIC,
	.abi_major = 1, /* the defect under test */
	.abi_minor = 0,
	.size = sizeof(struct v1_desc),
	.op_size = sizeof(struct v1_op),
	.name = "abi1",
	.version = "0.1.0",
	.ops = ops,
	.n_ops = 1,
};
