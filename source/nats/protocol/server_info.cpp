#include "beamline/nats/protocol/server_info.hpp"

#include "beamline/nats/error.hpp"

#include <boost/json.hpp>

namespace beamline::nats::protocol
{
namespace
{

namespace json = boost::json;

bool read_string(const json::object& o, std::string_view key, std::string& out)
{
    auto* v = o.if_contains(key);
    if (!v) return true;
    if (!v->is_string()) return false;
    out = std::string(v->get_string());
    return true;
}

bool read_bool(const json::object& o, std::string_view key, bool& out)
{
    auto* v = o.if_contains(key);
    if (!v) return true;
    if (!v->is_bool()) return false;
    out = v->get_bool();
    return true;
}

template <class Int>
bool read_int(const json::object& o, std::string_view key, Int& out)
{
    auto* v = o.if_contains(key);
    if (!v) return true;
    if (v->is_int64()) out = static_cast<Int>(v->get_int64());
    else if (v->is_uint64()) out = static_cast<Int>(v->get_uint64());
    else return false;
    return true;
}

} // namespace

std::error_code parse_server_info(std::string_view text, server_info& out)
{
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) return errc::invalid_info;
    const auto& o = v.get_object();
    server_info info;
    bool ok = read_string(o, "server_id", info.server_id) && read_string(o, "server_name", info.server_name) &&
              read_string(o, "version", info.version) && read_int(o, "proto", info.proto) &&
              read_string(o, "host", info.host) && read_int(o, "port", info.port) &&
              read_bool(o, "headers", info.headers) && read_int(o, "max_payload", info.max_payload) &&
              read_bool(o, "auth_required", info.auth_required) &&
              read_bool(o, "tls_required", info.tls_required) &&
              read_bool(o, "tls_available", info.tls_available) && read_bool(o, "tls_verify", info.tls_verify) &&
              read_bool(o, "jetstream", info.jetstream) && read_bool(o, "ldm", info.lame_duck_mode) &&
              read_int(o, "client_id", info.client_id) && read_string(o, "client_ip", info.client_ip) &&
              read_string(o, "nonce", info.nonce);
    if (!ok) return errc::invalid_info;
    if (auto* urls = o.if_contains("connect_urls"))
    {
        if (!urls->is_array()) return errc::invalid_info;
        for (const auto& u : urls->get_array())
        {
            if (!u.is_string()) return errc::invalid_info;
            info.connect_urls.emplace_back(u.get_string());
        }
    }
    if (info.max_payload <= 0) return errc::invalid_info;
    out = std::move(info);
    return {};
}

} // namespace beamline::nats::protocol
