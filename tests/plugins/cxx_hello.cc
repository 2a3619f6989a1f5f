// cxx_hello — test plugin written in C++ (built with g++ -std=c++17): the
// ABI header and ORBIT_PLUGIN_DEFINE must work from C++ as they do from C.
// Operation "cxx_hello" (string -> string) answers "<word>, <input> from C++"
// using std::string; word comes from the config map (default "hello"), so
// the config accessors are exercised from C++ too.
//
// Ownership: the state made by init (new) is the plugin's until shutdown
// (delete); every string built in the handler lives for the call
// (reply_string copies it).
#include <orbit/plugin.h>

#include <cerrno>
#include <new>
#include <string>

namespace {

struct state {
	orbit_host *h;
	const orbit_host_api *api;
};

int greet(void *st, orbit_call *call)
{
	auto *s = static_cast<state *>(st);
	const char *in = call->api->input_string(call);
	if (!in)
		return -errno;
	std::string out = std::string(s->api->config_string(s->h, "word")) + ", " + in + " from C++";
	return call->api->reply_string(call, out.c_str());
}

int init(orbit_host *h, const orbit_host_api *api, void **st)
{
	*st = new (std::nothrow) state{h, api};
	return *st ? 0 : -ENOMEM;
}

void shutdown(void *st)
{
	delete static_cast<state *>(st);
}

const orbit_plugin_op ops[] = {
	{"cxx_hello", ORBIT_STRING, ORBIT_STRING, {}, greet, 0, "greets in C++", {}},
};

const orbit_cfg_key config[] = {
	{"word", ORBIT_CFG_STRING, 0, "hello", 0, 0, nullptr, nullptr, "the greeting word", {}},
	{},
};

} // namespace

ORBIT_PLUGIN_DEFINE("cxx_hello", "1.0.0", ops, config, init, nullptr, nullptr, shutdown);
