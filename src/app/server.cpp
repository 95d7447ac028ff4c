// Wiring of `castellan server`: every module started in order, stopped in reverse.
#include "app/commands.hpp"
#include "core/config.hpp"

namespace castellan::app {

int run_server(const Config&) { return not_built_yet("server"); }

}  // namespace castellan::app
