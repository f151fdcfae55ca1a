#include "beamline/common/address.hpp"

#include "beamline/common/text.hpp"

#include <boost/url/parse.hpp>
#include <charconv>

namespace beamline::common
{
namespace
{

namespace urls = boost::urls;
using text::in_quotes;
using text::trim;

/// The port of an authority, from `min_port` to 65535.
parsed<std::uint16_t> read_port(std::string_view digits, unsigned min_port, std::string_view quoted_whole)
{
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || value > 65535)
        return {std::string(quoted_whole) + ": port " + in_quotes(digits) + " is not a number from " +
                std::to_string(min_port) + " to 65535"};
    if (value < min_port)
        return {std::string(quoted_whole) + ": port " + std::to_string(value) + " is not a server port (" +
                std::to_string(min_port) + " to 65535)"};
    return {static_cast<std::uint16_t>(value)};
}

/// A DNS name as resolvers take it: dot-separated labels of letters, digits, `-` and `_`.
bool valid_host_name(std::string_view name) noexcept
{
    if (name.empty() || name.size() > 253) return false;
    std::size_t label = 0;
    for (char c : name)
    {
        if (c == '.')
        {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '_';
        if (!ok || ++label > 63) return false;
    }
    return true; // a trailing dot ("host.", fully qualified) is fine
}

} // namespace

parsed<host_port> parse_host_port(std::string_view original)
{
    const std::string_view text = trim(original);
    const std::string whole = "address " + in_quotes(text);
    auto r = urls::parse_authority(text);
    if (!r || r->has_userinfo()) return {whole + " is not host:port (e.g. nats.example:8222 or [::1]:8222)"};
    if (!r->has_port()) return {whole + ": missing port (expected host:port)"};
    auto port = read_port(r->port(), 0, whole);
    if (!port) return {port.error()};
    host_port out;
    out.port = port.value();
    switch (r->host_type())
    {
    case urls::host_type::ipv4:
    case urls::host_type::ipv6:
        out.host = std::string(r->encoded_host_address());
        break;
    case urls::host_type::name:
    case urls::host_type::none:
        if (!r->encoded_host().empty() && !valid_host_name(r->encoded_host()))
            return {whole + ": host " + in_quotes(r->encoded_host()) +
                    " is not a host name or an IP address"};
        out.host = std::string(r->encoded_host());
        break;
    default:
        return {whole + ": host " + in_quotes(r->encoded_host()) + " is not a host name or an IP address"};
    }
    return {std::move(out)};
}

parsed<host_port> parse_listen_address(std::string_view original)
{
    const std::string_view text = trim(original);
    const std::string whole = "listen address " + in_quotes(text);
    auto r = urls::parse_authority(text);
    if (!r || r->has_userinfo())
    {
        if (text.starts_with('[')) return {whole + ": an IPv6 address is written [address]:port"};
        return {whole + " is not host:port (e.g. 0.0.0.0:8080 or [::1]:8080)"};
    }
    if (!r->has_port()) return {whole + ": missing port (expected host:port)"};
    auto port = read_port(r->port(), 0, whole);
    if (!port) return {port.error()};
    host_port out;
    out.port = port.value();
    switch (r->host_type())
    {
    case urls::host_type::ipv4:
    case urls::host_type::ipv6:
        out.host = std::string(r->encoded_host_address());
        break;
    case urls::host_type::name:
    case urls::host_type::none:
    {
        const std::string_view host = r->encoded_host();
        if (host.empty() || host == "*")
            out.host = "0.0.0.0";
        else if (host == "localhost")
            out.host = "localhost";
        else
            return {whole + ": host " + in_quotes(host) +
                    " is not an IP address (or localhost, or * for all)"};
        break;
    }
    default:
        return {whole + ": host " + in_quotes(r->encoded_host()) + " is not an IP address"};
    }
    return {std::move(out)};
}

std::string to_string(const host_port& hp)
{
    const bool v6 = hp.host.find(':') != std::string::npos;
    return (v6 ? "[" + hp.host + "]" : hp.host) + ":" + std::to_string(hp.port);
}

std::string server_url::to_string() const
{
    return std::string(tls ? "tls://" : "nats://") + common::to_string(host_port{host, port});
}

parsed<server_url> parse_server_url(std::string_view original)
{
    const std::string_view trimmed = trim(original);
    const std::string whole = in_quotes(trimmed);
    if (trimmed.empty()) return {std::string("the server URL is empty")};
    std::string s(trimmed);
    if (s.find("://") == std::string::npos) s = "nats://" + s;
    auto r = urls::parse_uri(s);
    if (!r) return {whole + " is not a URL (expected nats://host:port or tls://host:port)"};
    const auto& u = *r;
    server_url url;
    if (u.scheme() == "tls")
        url.tls = true;
    else if (u.scheme() != "nats")
        return {whole + " has scheme " + in_quotes(u.scheme()) + "; use nats:// or tls://"};
    switch (u.host_type())
    {
    case urls::host_type::ipv4:
    case urls::host_type::ipv6:
        url.host = std::string(u.encoded_host_address());
        break;
    case urls::host_type::name:
        if (u.encoded_host().empty()) return {whole + " has no host"};
        if (!valid_host_name(u.encoded_host()))
            return {
                whole + ": host " + in_quotes(u.encoded_host()) +
                " is not a host name (letters, digits, - and _, in dot-separated labels) or an IP address"};
        url.host = std::string(u.encoded_host());
        break;
    default:
        return {whole + " has no host"};
    }
    if (u.has_port())
    {
        // "h:abc" parses as an empty port followed by the path "abc": name what was written.
        const std::string_view written = u.port().empty() && !u.encoded_path().starts_with('/')
                                             ? std::string_view(u.encoded_path())
                                             : std::string_view(u.port());
        auto port = read_port(written, 1, whole);
        if (!port) return {port.error()};
        url.port = port.value();
    }
    if (!u.encoded_path().empty() && u.encoded_path() != "/")
        return {whole + " has a path; a server URL has none"};
    if (u.has_query() || u.has_fragment()) return {whole + " has a query or fragment; a server URL has none"};
    if (u.has_userinfo())
    {
        url.user = std::string(u.user());
        url.has_password = u.has_password();
        url.password = std::string(u.password());
    }
    return {std::move(url)};
}

} // namespace beamline::common
