#include "beamline/nats/options.hpp"

#include "beamline/nats/error.hpp"

namespace beamline::nats
{

std::error_code parse_server_url(std::string_view text, server_url& out)
{
    auto parsed = common::parse_server_url(text);
    if (!parsed) return errc::invalid_url;
    out = std::move(parsed.value());
    return {};
}

} // namespace beamline::nats
