#include "beamline/nats/jetstream/api_types.hpp"

#include <boost/json.hpp>

#include <array>
#include <cmath>
#include <limits>
#include <utility>

namespace beamline::nats::jetstream
{
namespace json = boost::json;
namespace
{

using std::chrono::nanoseconds;

std::int64_t to_ns(milliseconds d) { return std::chrono::duration_cast<nanoseconds>(d).count(); }
milliseconds from_ns(std::int64_t ns) { return std::chrono::duration_cast<milliseconds>(nanoseconds(ns)); }

const json::value* member(const json::object& o, std::string_view key)
{
    auto it = o.find(key);
    return it == o.end() ? nullptr : &it->value();
}

// Readers that leave `out` alone when the member is absent and fail when it has the wrong type.
bool read(const json::object& o, std::string_view key, std::string& out)
{
    const json::value* v = member(o, key);
    if (!v || v->is_null()) return true;
    if (!v->is_string()) return false;
    out = std::string(v->get_string());
    return true;
}

/// A JSON number as `Int` when it is a whole number `Int` holds. Anything else is a malformed
/// reply: casting an out-of-range double is undefined behaviour, and a count or limit that wrapped
/// around would be believed.
template <class Int>
bool to_integer(const json::value& v, Int& out)
{
    if (v.is_uint64())
    {
        if (!std::in_range<Int>(v.get_uint64())) return false;
        out = static_cast<Int>(v.get_uint64());
        return true;
    }
    if (v.is_int64())
    {
        if (!std::in_range<Int>(v.get_int64())) return false;
        out = static_cast<Int>(v.get_int64());
        return true;
    }
    if (!v.is_double()) return false;
    const double d = v.get_double();
    // max() + 1 is a power of two, exact as a double (max() itself may round up to it).
    constexpr double above_max = static_cast<double>(std::numeric_limits<Int>::max() / 2 + 1) * 2.0;
    if (!(d >= static_cast<double>(std::numeric_limits<Int>::min()) && d < above_max) || d != std::trunc(d))
        return false;
    out = static_cast<Int>(d);
    return true;
}

template <class Int>
bool read(const json::object& o, std::string_view key, Int& out)
{
    const json::value* v = member(o, key);
    if (!v || v->is_null()) return true;
    return to_integer(*v, out);
}

bool read(const json::object& o, std::string_view key, bool& out)
{
    const json::value* v = member(o, key);
    if (!v || v->is_null()) return true;
    if (!v->is_bool()) return false;
    out = v->get_bool();
    return true;
}

bool read_duration(const json::object& o, std::string_view key, milliseconds& out)
{
    std::int64_t ns = 0;
    if (!member(o, key)) return true;
    if (!read(o, key, ns)) return false;
    out = from_ns(ns);
    return true;
}

bool read(const json::object& o, std::string_view key, std::vector<std::string>& out)
{
    const json::value* v = member(o, key);
    if (!v || v->is_null()) return true;
    if (!v->is_array()) return false;
    out.clear();
    for (const auto& e : v->get_array())
    {
        if (!e.is_string()) return false;
        out.emplace_back(e.get_string());
    }
    return true;
}

const json::object* child(const json::object& o, std::string_view key)
{
    const json::value* v = member(o, key);
    return v && v->is_object() ? &v->get_object() : nullptr;
}

std::error_code invalid() { return js_errc::invalid_reply; }

} // namespace

std::error_code parse_api_reply(std::string_view payload, json::object& out, api_error& err)
{
    err = {};
    std::error_code pec;
    json::value v = json::parse(payload, pec);
    if (pec || !v.is_object()) return invalid();
    json::object& o = v.as_object();
    if (const json::object* e = child(o, "error"))
    {
        read(*e, "code", err.code);
        read(*e, "err_code", err.err_code);
        read(*e, "description", err.description);
        if (err.code == 0 && err.err_code == 0) err.code = 500;
        return err.error();
    }
    out = std::move(o);
    return {};
}

std::string to_json(const stream_config& c)
{
    json::object o;
    o["name"] = c.name;
    if (!c.description.empty()) o["description"] = c.description;
    json::array subjects;
    for (const auto& s : c.subjects)
        subjects.emplace_back(s);
    o["subjects"] = std::move(subjects);
    o["retention"] = c.retention;
    o["storage"] = c.storage;
    o["discard"] = c.discard;
    o["max_consumers"] = c.max_consumers;
    o["max_msgs"] = c.max_msgs;
    o["max_bytes"] = c.max_bytes;
    o["max_msgs_per_subject"] = c.max_msgs_per_subject;
    o["max_msg_size"] = c.max_msg_size;
    o["max_age"] = to_ns(c.max_age);
    if (c.duplicate_window.count() > 0) o["duplicate_window"] = to_ns(c.duplicate_window);
    o["num_replicas"] = c.num_replicas;
    o["allow_rollup_hdrs"] = c.allow_rollup_hdrs;
    o["deny_delete"] = c.deny_delete;
    o["deny_purge"] = c.deny_purge;
    o["allow_direct"] = c.allow_direct;
    return json::serialize(o);
}

std::string consumer_create_request(std::string_view stream, const consumer_config& c)
{
    json::object cfg;
    if (!c.durable_name.empty()) cfg["durable_name"] = c.durable_name;
    if (!c.name.empty()) cfg["name"] = c.name;
    if (!c.description.empty()) cfg["description"] = c.description;
    cfg["deliver_policy"] = c.deliver_policy;
    if (c.opt_start_seq) cfg["opt_start_seq"] = c.opt_start_seq;
    cfg["ack_policy"] = c.ack_policy;
    if (c.ack_wait.count() > 0) cfg["ack_wait"] = to_ns(c.ack_wait);
    if (c.max_deliver != 0) cfg["max_deliver"] = c.max_deliver;
    if (!c.backoff.empty())
    {
        json::array b;
        for (auto d : c.backoff)
            b.emplace_back(to_ns(d));
        cfg["backoff"] = std::move(b);
    }
    if (!c.filter_subject.empty()) cfg["filter_subject"] = c.filter_subject;
    cfg["replay_policy"] = c.replay_policy;
    if (c.max_ack_pending) cfg["max_ack_pending"] = c.max_ack_pending;
    if (c.max_waiting) cfg["max_waiting"] = c.max_waiting;
    if (c.max_batch) cfg["max_batch"] = c.max_batch;
    if (c.max_expires.count() > 0) cfg["max_expires"] = to_ns(c.max_expires);
    if (c.inactive_threshold.count() > 0) cfg["inactive_threshold"] = to_ns(c.inactive_threshold);
    if (c.headers_only) cfg["headers_only"] = true;
    if (c.mem_storage) cfg["mem_storage"] = true;
    if (c.num_replicas) cfg["num_replicas"] = c.num_replicas;
    if (!c.deliver_subject.empty()) cfg["deliver_subject"] = c.deliver_subject;
    if (c.idle_heartbeat.count() > 0) cfg["idle_heartbeat"] = to_ns(c.idle_heartbeat);
    if (c.flow_control) cfg["flow_control"] = true;
    json::object o;
    o["stream_name"] = stream;
    o["config"] = std::move(cfg);
    return json::serialize(o);
}

std::string to_json(const purge_options& p)
{
    json::object o;
    if (!p.filter.empty()) o["filter"] = p.filter;
    if (p.seq) o["seq"] = p.seq;
    if (p.keep) o["keep"] = p.keep;
    return json::serialize(o);
}

std::string to_json(const message_query& q)
{
    json::object o;
    if (!q.last_by_subject.empty())
        o["last_by_subj"] = q.last_by_subject;
    else
        o["seq"] = q.seq;
    return json::serialize(o);
}

std::error_code from_json(const json::object& o, stream_config& c)
{
    bool ok = read(o, "name", c.name) && read(o, "description", c.description) && read(o, "subjects", c.subjects) &&
              read(o, "retention", c.retention) && read(o, "storage", c.storage) && read(o, "discard", c.discard) &&
              read(o, "max_consumers", c.max_consumers) && read(o, "max_msgs", c.max_msgs) &&
              read(o, "max_bytes", c.max_bytes) && read(o, "max_msgs_per_subject", c.max_msgs_per_subject) &&
              read(o, "max_msg_size", c.max_msg_size) && read_duration(o, "max_age", c.max_age) &&
              read_duration(o, "duplicate_window", c.duplicate_window) && read(o, "num_replicas", c.num_replicas) &&
              read(o, "allow_rollup_hdrs", c.allow_rollup_hdrs) && read(o, "deny_delete", c.deny_delete) &&
              read(o, "deny_purge", c.deny_purge) && read(o, "allow_direct", c.allow_direct);
    return ok && !c.name.empty() ? std::error_code{} : invalid();
}

std::error_code from_json(const json::object& o, stream_info& out)
{
    const json::object* cfg = child(o, "config");
    if (!cfg) return invalid();
    if (auto ec = from_json(*cfg, out.config)) return ec;
    if (const json::object* st = child(o, "state"))
    {
        stream_state& s = out.state;
        if (!(read(*st, "messages", s.messages) && read(*st, "bytes", s.bytes) && read(*st, "first_seq", s.first_seq) &&
              read(*st, "last_seq", s.last_seq) && read(*st, "num_subjects", s.num_subjects) &&
              read(*st, "consumer_count", s.consumer_count)))
            return invalid();
    }
    return read(o, "created", out.created) ? std::error_code{} : invalid();
}

namespace
{
bool read_sequences(const json::object& o, std::string_view key, sequence_info& out)
{
    const json::object* s = child(o, key);
    return !s || (read(*s, "consumer_seq", out.consumer_seq) && read(*s, "stream_seq", out.stream_seq));
}
} // namespace

std::error_code from_json(const json::object& o, consumer_info& out)
{
    bool ok = read(o, "stream_name", out.stream_name) && read(o, "name", out.name) &&
              read_sequences(o, "delivered", out.delivered) && read_sequences(o, "ack_floor", out.ack_floor) &&
              read(o, "num_ack_pending", out.num_ack_pending) && read(o, "num_redelivered", out.num_redelivered) &&
              read(o, "num_waiting", out.num_waiting) && read(o, "num_pending", out.num_pending);
    if (!ok || out.name.empty()) return invalid();
    if (const json::object* cfg = child(o, "config"))
    {
        consumer_config& c = out.config;
        ok = read(*cfg, "durable_name", c.durable_name) && read(*cfg, "name", c.name) &&
             read(*cfg, "description", c.description) && read(*cfg, "deliver_policy", c.deliver_policy) &&
             read(*cfg, "opt_start_seq", c.opt_start_seq) && read(*cfg, "ack_policy", c.ack_policy) &&
             read_duration(*cfg, "ack_wait", c.ack_wait) && read(*cfg, "max_deliver", c.max_deliver) &&
             read(*cfg, "filter_subject", c.filter_subject) && read(*cfg, "replay_policy", c.replay_policy) &&
             read(*cfg, "max_ack_pending", c.max_ack_pending) && read(*cfg, "max_waiting", c.max_waiting) &&
             read(*cfg, "max_batch", c.max_batch) && read_duration(*cfg, "max_expires", c.max_expires) &&
             read_duration(*cfg, "inactive_threshold", c.inactive_threshold) &&
             read(*cfg, "headers_only", c.headers_only) && read(*cfg, "mem_storage", c.mem_storage) &&
             read(*cfg, "num_replicas", c.num_replicas) && read(*cfg, "deliver_subject", c.deliver_subject) &&
             read_duration(*cfg, "idle_heartbeat", c.idle_heartbeat) && read(*cfg, "flow_control", c.flow_control);
        if (!ok) return invalid();
        if (const json::value* b = member(*cfg, "backoff"); b && b->is_array())
            for (const auto& d : b->get_array())
            {
                std::int64_t ns = 0;
                if (!to_integer(d, ns)) return invalid();
                c.backoff.push_back(from_ns(ns));
            }
    }
    return {};
}

std::error_code from_json(const json::object& o, account_info& out)
{
    bool ok = read(o, "memory", out.memory) && read(o, "storage", out.storage) && read(o, "streams", out.streams) &&
              read(o, "consumers", out.consumers) && read(o, "domain", out.domain);
    if (const json::object* api = child(o, "api"))
        ok = ok && read(*api, "total", out.api_total) && read(*api, "errors", out.api_errors);
    return ok ? std::error_code{} : invalid();
}

std::error_code from_json(const json::object& o, pub_ack& out)
{
    bool ok = read(o, "stream", out.stream) && read(o, "seq", out.seq) && read(o, "duplicate", out.duplicate) &&
              read(o, "domain", out.domain);
    return ok && !out.stream.empty() ? std::error_code{} : invalid();
}

std::error_code from_json(const json::object& o, stored_message& out)
{
    const json::object* m = child(o, "message");
    if (!m) return invalid();
    std::string hdrs, data;
    if (!(read(*m, "subject", out.subject) && read(*m, "seq", out.seq) && read(*m, "time", out.time) &&
          read(*m, "hdrs", hdrs) && read(*m, "data", data)))
        return invalid();
    if (!base64_decode(hdrs, out.header_block) || !base64_decode(data, out.data)) return invalid();
    return out.subject.empty() ? invalid() : std::error_code{};
}

api_result<pub_ack> parse_pub_ack(std::string_view payload)
{
    api_result<pub_ack> r;
    json::object o;
    r.ec = parse_api_reply(payload, o, r.error);
    if (!r.ec) r.ec = from_json(o, r.value);
    return r;
}

bool base64_decode(std::string_view in, std::string& out)
{
    static constexpr auto table = [] {
        std::array<signed char, 256> t{};
        t.fill(-1);
        const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < 64; ++i)
            t[static_cast<unsigned char>(alphabet[i])] = static_cast<signed char>(i);
        return t;
    }();
    out.clear();
    out.reserve(in.size() / 4 * 3);
    std::uint32_t acc = 0;
    int bits = 0;
    std::size_t i = 0;
    for (; i < in.size() && in[i] != '='; ++i)
    {
        signed char v = table[static_cast<unsigned char>(in[i])];
        if (v < 0) return false;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8)
        {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
    for (; i < in.size(); ++i)
        if (in[i] != '=') return false;
    return true;
}

bool valid_name(std::string_view name) noexcept
{
    if (name.empty() || name.size() > 255) return false;
    for (char c : name)
        if (c == '.' || c == '*' || c == '>' || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '/' ||
            c == '\\' || static_cast<unsigned char>(c) < 0x20)
            return false;
    return true;
}

} // namespace beamline::nats::jetstream
