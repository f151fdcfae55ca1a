#pragma once
// Encoders for what a client sends: CONNECT, PUB, HPUB, SUB, UNSUB, PING, PONG. Each appends one
// complete frame to `out`, so frames can be coalesced into one write. Arguments are assumed valid
// (the client validates subjects before encoding).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace beamline::nats::protocol
{

/// The fields of CONNECT (client protocol; ADR-40).
struct connect_info
{
    bool verbose = false;
    bool pedantic = false;
    bool tls_required = false;
    bool echo = true;
    bool headers = true;
    bool no_responders = true;
    std::string name;
    std::string lang = "cpp";
    std::string version;
    std::string user;
    std::string pass;
    std::string auth_token;
};

void encode_connect(std::string& out, const connect_info& info);
void encode_pub(std::string& out, std::string_view subject, std::string_view reply, std::string_view payload);
/// `header_block` is a complete encoded block (see nats::headers::encode).
void encode_hpub(std::string& out, std::string_view subject, std::string_view reply, std::string_view header_block,
                 std::string_view payload);
/// The control line of an HPUB alone, for a header block the caller encodes in place after it.
void encode_hpub_line(std::string& out, std::string_view subject, std::string_view reply, std::size_t header_size,
                      std::size_t total_size);
void encode_sub(std::string& out, std::string_view subject, std::string_view queue, std::uint64_t sid);
void encode_unsub(std::string& out, std::uint64_t sid, std::optional<std::uint64_t> max_msgs = std::nullopt);
void encode_ping(std::string& out);
void encode_pong(std::string& out);

} // namespace beamline::nats::protocol
