#include "beamline/nats/options.hpp"

#include "beamline/nats/error.hpp"

#include <boost/url/parse.hpp>

#include <charconv>

namespace beamline::nats
{

std::string server_url::to_string() const
{
    std::string out = tls ? "tls://" : "nats://";
    bool v6 = host.find(':') != std::string::npos;
    if (v6) out += '[';
    out += host;
    if (v6) out += ']';
    out += ':';
    out += std::to_string(port);
    return out;
}

std::error_code parse_server_url(std::string_view text, server_url& out)
{
    std::string s(text);
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.erase(s.begin());
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.pop_back();
    if (s.empty()) return errc::invalid_url;
    if (s.find("://") == std::string::npos) s = "nats://" + s;
    auto r = boost::urls::parse_uri(s);
    if (!r) return errc::invalid_url;
    const auto& u = *r;
    server_url url;
    std::string scheme(u.scheme());
    if (scheme == "tls") url.tls = true;
    else if (scheme != "nats") return errc::invalid_url;
    if (!u.has_authority() || u.host().empty()) return errc::invalid_url;
    if (!u.encoded_path().empty() && u.encoded_path() != "/") return errc::invalid_url;
    if (u.host_type() == boost::urls::host_type::ipv6) url.host = std::string(u.encoded_host_address());
    else url.host = std::string(u.host());
    if (u.has_port())
    {
        auto p = u.port();
        unsigned v = 0;
        auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
        if (ec != std::errc{} || ptr != p.data() + p.size() || v == 0 || v > 65535) return errc::invalid_url;
        url.port = static_cast<std::uint16_t>(v);
    }
    if (u.has_userinfo())
    {
        url.user = std::string(u.user());
        url.has_password = u.has_password();
        url.password = std::string(u.password());
    }
    out = std::move(url);
    return {};
}

} // namespace beamline::nats
