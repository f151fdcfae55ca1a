#include "beamline/nats/protocol/encoder.hpp"

#include "beamline/common/json_writer.hpp"

#include <charconv>

namespace beamline::nats::protocol
{
namespace
{

void append_number(std::string& out, std::uint64_t v)
{
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void append_bool(std::string& out, std::string_view key, bool v)
{
    out.push_back('"');
    out.append(key);
    out.append(v ? "\":true," : "\":false,");
}

void append_string_field(std::string& out, std::string_view key, std::string_view v)
{
    out.push_back('"');
    out.append(key);
    out.append("\":");
    common::append_json_string(out, v);
    out.push_back(',');
}

} // namespace

void encode_connect(std::string& out, const connect_info& info)
{
    out.append("CONNECT {");
    append_bool(out, "verbose", info.verbose);
    append_bool(out, "pedantic", info.pedantic);
    append_bool(out, "tls_required", info.tls_required);
    append_bool(out, "echo", info.echo);
    append_bool(out, "headers", info.headers);
    // The one place of the rule: nats-server refuses no_responders without headers support.
    append_bool(out, "no_responders", info.no_responders && info.headers);
    if (!info.name.empty()) append_string_field(out, "name", info.name);
    if (!info.user.empty()) append_string_field(out, "user", info.user);
    if (!info.pass.empty()) append_string_field(out, "pass", info.pass);
    if (!info.auth_token.empty()) append_string_field(out, "auth_token", info.auth_token);
    append_string_field(out, "lang", info.lang);
    append_string_field(out, "version", info.version);
    out.append("\"protocol\":1}\r\n");
}

/// `VERB subject [reply] ` — the start shared by PUB, HPUB and (with a queue for a reply) SUB.
void append_verb_subject(std::string& out, std::string_view verb, std::string_view subject, std::string_view second)
{
    out.append(verb);
    out.append(subject);
    out.push_back(' ');
    if (!second.empty())
    {
        out.append(second);
        out.push_back(' ');
    }
}

void encode_pub(std::string& out, std::string_view subject, std::string_view reply, std::string_view payload)
{
    append_verb_subject(out, "PUB ", subject, reply);
    append_number(out, payload.size());
    out.append("\r\n");
    out.append(payload);
    out.append("\r\n");
}

void encode_hpub_line(std::string& out, std::string_view subject, std::string_view reply, std::size_t header_size,
                      std::size_t total_size)
{
    append_verb_subject(out, "HPUB ", subject, reply);
    append_number(out, header_size);
    out.push_back(' ');
    append_number(out, total_size);
    out.append("\r\n");
}

void encode_hpub(std::string& out, std::string_view subject, std::string_view reply, std::string_view header_block,
                 std::string_view payload)
{
    encode_hpub_line(out, subject, reply, header_block.size(), header_block.size() + payload.size());
    out.append(header_block);
    out.append(payload);
    out.append("\r\n");
}

void encode_sub(std::string& out, std::string_view subject, std::string_view queue, std::uint64_t sid)
{
    append_verb_subject(out, "SUB ", subject, queue);
    append_number(out, sid);
    out.append("\r\n");
}

void encode_unsub(std::string& out, std::uint64_t sid, std::optional<std::uint64_t> max_msgs)
{
    out.append("UNSUB ");
    append_number(out, sid);
    if (max_msgs)
    {
        out.push_back(' ');
        append_number(out, *max_msgs);
    }
    out.append("\r\n");
}

void encode_ping(std::string& out) { out.append("PING\r\n"); }
void encode_pong(std::string& out) { out.append("PONG\r\n"); }

} // namespace beamline::nats::protocol
