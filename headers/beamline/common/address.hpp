#pragma once
// Addresses as operators write them, parsed once for every layer: the HTTP listener's host:port
// (config `http.listen`, the HTTP server) and NATS server URLs (config `nats.url`, the client's
// server list, servers a cluster announces). What one layer accepts, every layer accepts.

#include "beamline/common/parsed.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace beamline::common
{

struct host_port
{
    std::string host; ///< a host name or an IPv4 or IPv6 address (without brackets)
    std::uint16_t port = 0;

    friend bool operator==(const host_port&, const host_port&) = default;
};

/// Parses a listening address `host:port` or `[v6]:port`: the host is an IP address, `localhost`,
/// or empty or `*` for every IPv4 interface (both become `0.0.0.0`); port 0 asks for a free one.
/// Host names other than `localhost` are refused: a listener binds an address, it does not resolve.
parsed<host_port> parse_listen_address(std::string_view text);

/// Parses the address of a peer to connect to, `host:port` or `[v6]:port`: the host is a DNS name,
/// an IP address or empty (the caller's default); the port 0 to 65535 (the caller bounds it).
parsed<host_port> parse_host_port(std::string_view text);

/// `host:port`, with brackets around an IPv6 address.
std::string to_string(const host_port& hp);

/// One NATS server: `nats://[user[:pass]@]host[:port]`, `tls://...`, or `host[:port]`.
struct server_url
{
    std::string host; ///< a DNS name or an IP address (IPv6 without brackets)
    std::uint16_t port = 4222;
    bool tls = false; ///< `tls://` scheme: TLS is required for this server
    std::string user; ///< URL userinfo, percent-decoded; a user with no password is a token
    std::string password;
    bool has_password = false;

    std::string to_string() const; ///< without credentials, for logs and errors
};

/// Parses one server URL. Blanks around it and one trailing `/` are ignored; the scheme is
/// `nats` (the default) or `tls`; the host is an IP address or a DNS name (letters, digits, `-`,
/// `_`, dot-separated labels); the port is 1 to 65535 (default 4222). The error names the part at
/// fault: `"nats://h:0": port 0 is not a server port (1 to 65535)`.
parsed<server_url> parse_server_url(std::string_view text);

} // namespace beamline::common
