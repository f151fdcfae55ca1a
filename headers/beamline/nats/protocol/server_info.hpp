#pragma once
// The INFO a server sends at connect and asynchronously afterwards.

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace beamline::nats::protocol
{

struct server_info
{
    std::string server_id;
    std::string server_name;
    std::string version;
    int proto = 0;
    std::string host;
    int port = 0;
    bool headers = false;
    std::int64_t max_payload = 1024 * 1024;
    bool auth_required = false;
    bool tls_required = false;
    bool tls_available = false;
    bool tls_verify = false;
    bool jetstream = false;
    bool lame_duck_mode = false;
    std::uint64_t client_id = 0;
    std::string client_ip;
    std::string nonce;
    std::vector<std::string> connect_urls;
};

/// Parses INFO's JSON; unknown fields are ignored, wrong types are an error.
std::error_code parse_server_info(std::string_view json, server_info& out);

} // namespace beamline::nats::protocol
