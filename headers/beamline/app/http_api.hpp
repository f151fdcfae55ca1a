#pragma once
// The daemon's HTTP surface (SPEC §7): health, readiness, metrics, status, policy admin and
// backpressure. The admin handlers are app/admin_ops, shared with the admin requests over NATS.

#include "beamline/app/router_service.hpp"
#include "beamline/http/route_table.hpp"
#include "beamline/metrics/registry.hpp"

#include <optional>
#include <string>

namespace beamline::app
{

http::route_table make_routes(router_service& service, const metrics::registry& reg,
                              std::optional<std::string> admin_token);

} // namespace beamline::app
