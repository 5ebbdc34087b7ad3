// Which network services the daemon runs for a config. Each module contributes one factory call.
#pragma once

#include <memory>
#include <vector>

#include "netbootd/core/service.hpp"

namespace netbootd::daemon {

/// The services the config enables, constructed but not started.
std::vector<std::unique_ptr<service>> make_services(service_context& ctx);

} // namespace netbootd::daemon
