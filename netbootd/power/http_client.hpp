// A minimal blocking HTTP/1.1 client for smart plugs and XML-RPC gateways, on Boost.Beast.
// It runs its own small io_context on the calling (worker) thread so that one deadline bounds
// resolve, connect, write and read together.
#pragma once

#include "netbootd/power/driver.hpp"
#include "netbootd/power/plan.hpp"

namespace netbootd::power {

/// Sends `req` and reads the response (body capped at 1 MiB). Never throws: a refused
/// connection, a timeout or a malformed response come back as status 0 with `error` set.
http_response send_http(const http_step& req);

} // namespace netbootd::power
