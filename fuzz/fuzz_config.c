/* fuzz_config.c — libFuzzer target: orbitd.yaml (orbitd/config.c and the
 * modules under it: yamltree, cfgvalue, cfgfiles, yamljson).
 *
 * The input is the text of the main file, loaded from memory
 * (orbitd_config_load_string: no file written per run). Relative paths are
 * resolved against a directory that does not exist, so an include_dir or a
 * schema file named relatively reads nothing; an absolute one reads what is
 * there, as orbitd would. Checks: a failed load says why (*err set), a
 * successful one frees cleanly; leaks and crashes are the sanitizers'.
 * Text after a NUL byte is not seen (the API takes a C string).
 */
#include "config.h"
#include "fuzz_check.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NO_DIR "/nonexistent/orbitd-fuzz"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct orbitd_config *cfg = NULL;
	char *text, *err = NULL;
	int rc;

	if (size > FUZZ_MAX_INPUT)
		return -1;
	if (!(text = malloc(size + 1)))
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	rc = orbitd_config_load_string(text, "fuzz.yaml", NO_DIR, &cfg, &err);
	if (rc) {
		FUZZ_CHECK(rc == -ENOMEM || err, "a failed load does not say why");
		FUZZ_CHECK(!cfg, "a failed load returned a configuration");
	} else {
		FUZZ_CHECK(cfg && !err, "a load succeeded without a configuration, or with an error");
	}
	orbitd_config_free(cfg);
	free(err);
	free(text);
	return 0;
}
