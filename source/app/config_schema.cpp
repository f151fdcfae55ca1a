#include "beamline/app/config_schema.hpp"

#include "beamline/app/logging.hpp"
#include "beamline/app/text.hpp"
#include "beamline/common/address.hpp"
#include "beamline/common/subject.hpp"
#include "beamline/common/units.hpp"
#include "beamline/router/ids.hpp"

#include <algorithm>
#include <array>
#include <limits>

namespace beamline::app::schema
{
namespace
{

using common::format_duration;
using common::format_size;
using common::parse_duration;
using common::parse_size;
using common::parse_whole_number;
using text::in_quotes;
using text::trim;

using std::chrono::milliseconds;

std::vector<std::string> split_list(std::string_view text)
{
    std::vector<std::string> items;
    while (true)
    {
        const auto comma = text.find(',');
        const auto item = trim(text.substr(0, comma));
        if (!item.empty()) items.emplace_back(item);
        if (comma == std::string_view::npos) return items;
        text.remove_prefix(comma + 1);
    }
}

std::string join(const std::vector<std::string>& items)
{
    std::string out;
    for (const auto& item : items)
        out += (out.empty() ? "" : ",") + item;
    return out;
}

// Names are checked with the rules the component using them applies (common/subject), so what
// loads here is never refused later by the client or the router.
enum class name_kind
{
    publish_subject,   ///< a subject the router publishes to
    subscribe_subject, ///< a subject the router subscribes to (wildcards allowed)
    subject_prefix,    ///< a publish subject's first tokens, ending in "."
    token,             ///< one token: a queue group
};

std::string name_problem(std::string_view value, name_kind kind)
{
    if (value.empty()) return "must not be empty";
    if (value.size() > common::max_subject_bytes)
        return "is " + std::to_string(value.size()) + " bytes, above the " +
               std::to_string(common::max_subject_bytes) + "-byte limit of a subject";
    switch (kind)
    {
    case name_kind::publish_subject:
        if (common::valid_publish_subject(value)) return {};
        return in_quotes(value) + " is not a subject to publish to: dot-separated tokens, no empty token, "
                                  "no blank or control character, no * or >";
    case name_kind::subscribe_subject:
        if (common::valid_subscribe_subject(value)) return {};
        return in_quotes(value) + " is not a subject to subscribe to: dot-separated tokens, no empty token, "
                                  "no blank or control character, * and > only as whole tokens, > last";
    case name_kind::subject_prefix:
        if (value.back() != '.') return in_quotes(value) + " must end with \".\" (it is a subject prefix)";
        if (common::valid_publish_subject(value.substr(0, value.size() - 1))) return {};
        return in_quotes(value) + " is not a subject prefix: dot-separated tokens ending in \".\", no empty "
                                  "token, no blank or control character, no * or >";
    case name_kind::token:
        if (common::valid_token(value)) return {};
        return in_quotes(value) + " is not a valid name: no blank, control character, \".\", * or >";
    }
    return {};
}

// Factories, one per kind of value. `field` is a generic lambda returning a reference to the
// member, so one accessor serves both the setter and the getter.
key_spec make(std::string section, std::string key, std::string help,
              std::function<std::string(config&, std::string_view)> set,
              std::function<std::string(const config&)> get)
{
    key_spec spec;
    spec.name = section + "." + key;
    spec.env = "BEAMLINE_" + text::to_upper(section) + "_" + text::to_upper(key);
    spec.section = std::move(section);
    spec.key = std::move(key);
    spec.help = std::move(help);
    spec.set = std::move(set);
    spec.get = get;
    spec.show = std::move(get);
    return spec;
}

template <class Field>
key_spec text(std::string section, std::string key, std::string help, Field field, bool required = false)
{
    return make(
        std::move(section), std::move(key), std::move(help),
        [field, required](config& c, std::string_view v) -> std::string
        {
            if (required && v.empty()) return "must not be empty";
            field(c) = std::string(v);
            return {};
        },
        [field](const config& c) { return std::string(field(c)); });
}

template <class Field>
key_spec boolean(std::string section, std::string key, std::string help, Field field)
{
    return make(
        std::move(section), std::move(key), std::move(help),
        [field](config& c, std::string_view v) -> std::string
        {
            if (v == "true" || v == "1" || v == "yes" || v == "on")
                field(c) = true;
            else if (v == "false" || v == "0" || v == "no" || v == "off")
                field(c) = false;
            else
                return "must be true or false";
            return {};
        },
        [field](const config& c) { return std::string(field(c) ? "true" : "false"); });
}

template <class Field>
key_spec secret(std::string section, std::string key, std::string help, Field field)
{
    key_spec spec = text(std::move(section), std::move(key), std::move(help), field);
    spec.secret = true;
    spec.show = [field](const config& c) { return redact(field(c)); };
    return spec;
}

template <class Field>
key_spec name(std::string section, std::string key, std::string help, Field field, name_kind kind)
{
    return make(
        std::move(section), std::move(key), std::move(help),
        [field, kind](config& c, std::string_view v) -> std::string
        {
            if (auto problem = name_problem(v, kind); !problem.empty()) return problem;
            field(c) = std::string(v);
            return {};
        },
        [field](const config& c) { return std::string(field(c)); });
}

template <class Field>
key_spec integer(std::string section, std::string key, std::string help, Field field, std::int64_t min,
                 std::int64_t max)
{
    return make(
        std::move(section), std::move(key), std::move(help),
        [field, min, max](config& c, std::string_view v) -> std::string
        {
            const std::string_view t = trim(v);
            const bool negative = !t.empty() && t.front() == '-';
            auto magnitude = parse_whole_number(negative ? t.substr(1) : t);
            if (!magnitude ||
                magnitude.value() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                return in_quotes(v) + " is not a whole number";
            const auto n = static_cast<std::int64_t>(magnitude.value()) * (negative ? -1 : 1);
            if (n < min || n > max)
                return in_quotes(v) + " is out of range (" + std::to_string(min) + " to " +
                       std::to_string(max) + ")";
            using target = std::remove_reference_t<decltype(field(c))>;
            field(c) = static_cast<target>(n);
            return {};
        },
        [field](const config& c) { return std::to_string(field(c)); });
}

template <class Field>
key_spec duration_ms(std::string section, std::string key, std::string help, Field field, milliseconds min)
{
    return make(
        std::move(section), std::move(key), std::move(help),
        [field, min](config& c, std::string_view v) -> std::string
        {
            auto d = parse_duration(v);
            if (!d) return d.error();
            if (d.value() < min)
                return in_quotes(v) + " is too short (at least " + format_duration(min) + ")";
            field(c) = d.value();
            return {};
        },
        [field](const config& c) { return std::to_string(field(c).count()); });
}

template <class Field>
key_spec duration_s(std::string section, std::string key, std::string help, Field field)
{
    return make(
        std::move(section), std::move(key), std::move(help),
        [field](config& c, std::string_view v) -> std::string
        {
            auto d = parse_duration(v, std::chrono::seconds{1});
            if (!d) return d.error();
            if (d.value().count() % 1000 != 0 || d.value().count() == 0)
                return in_quotes(v) + " is not a whole number of seconds (at least 1)";
            field(c) = std::chrono::duration_cast<std::chrono::seconds>(d.value());
            return {};
        },
        [field](const config& c) { return std::to_string(field(c).count()); });
}

template <class Field>
key_spec size(std::string section, std::string key, std::string help, Field field, std::uint64_t min,
              std::uint64_t max)
{
    return make(
        std::move(section), std::move(key), std::move(help),
        [field, min, max](config& c, std::string_view v) -> std::string
        {
            auto bytes = parse_size(v);
            if (!bytes) return bytes.error();
            if (bytes.value() < min || bytes.value() > max)
                return in_quotes(v) + " is out of range (" + format_size(min) + " to " + format_size(max) +
                       ")";
            field(c) = bytes.value();
            return {};
        },
        [field](const config& c) { return format_size(field(c)); });
}

template <class Field>
key_spec list(std::string section, std::string key, std::string help, Field field)
{
    return make(
        std::move(section), std::move(key), std::move(help),
        [field](config& c, std::string_view v) -> std::string
        {
            field(c) = split_list(v);
            return {};
        },
        [field](const config& c) { return join(field(c)); });
}

std::vector<key_spec> build_table()
{
    constexpr std::int64_t u32_max = std::numeric_limits<std::uint32_t>::max();
    std::vector<key_spec> t;

    // [nats]
    auto urls = list(
        "nats", "url", "server URLs, comma-separated (nats://host:port or tls://host:port)",
        [](auto& c) -> auto& { return c.nats.url; });
    urls.set = [inner = urls.set](config& c, std::string_view v) -> std::string
    {
        for (const auto& url : split_list(v))
            if (auto parsed = common::parse_server_url(url); !parsed) return parsed.error();
        if (split_list(v).empty()) return "needs at least one server URL";
        return inner(c, v);
    };
    urls.show = [](const config& c)
    {
        std::vector<std::string> shown;
        for (const auto& url : c.nats.url)
            shown.push_back(redact_url_credentials(url));
        return join(shown);
    };
    t.push_back(std::move(urls));
    t.push_back(text(
        "nats", "name", "connection name shown by the server's monitoring",
        [](auto& c) -> auto& { return c.nats.name; }));
    t.push_back(text(
        "nats", "user", "user name (needs nats.password)", [](auto& c) -> auto& { return c.nats.user; }));
    t.push_back(secret(
        "nats", "password", "password for nats.user", [](auto& c) -> auto& { return c.nats.password; }));
    t.push_back(secret(
        "nats", "token", "authentication token (instead of user and password)",
        [](auto& c) -> auto& { return c.nats.token; }));
    t.push_back(text(
        "nats", "tls_ca", "CA bundle (PEM) that verifies the server; empty: system roots",
        [](auto& c) -> auto& { return c.nats.tls_ca; }));
    t.push_back(text(
        "nats", "tls_cert", "client certificate (PEM) for mutual TLS; needs nats.tls_key",
        [](auto& c) -> auto& { return c.nats.tls_cert; }));
    t.push_back(text(
        "nats", "tls_key", "private key (PEM) of nats.tls_cert",
        [](auto& c) -> auto& { return c.nats.tls_key; }));
    t.push_back(duration_ms(
        "nats", "connect_timeout_ms", "time allowed to connect, TLS and handshake, per server",
        [](auto& c) -> auto& { return c.nats.connect_timeout_ms; }, milliseconds{1}));
    t.push_back(duration_ms(
        "nats", "ping_interval_ms", "interval between client PINGs",
        [](auto& c) -> auto& { return c.nats.ping_interval_ms; }, milliseconds{1}));
    t.push_back(integer(
        "nats", "max_pings_out", "unanswered PINGs before the connection counts as stale",
        [](auto& c) -> auto& { return c.nats.max_pings_out; }, 1, 1000));
    t.push_back(duration_ms(
        "nats", "reconnect_wait_ms", "pause before trying the same server again",
        [](auto& c) -> auto& { return c.nats.reconnect_wait_ms; }, milliseconds{0}));
    t.push_back(duration_ms(
        "nats", "reconnect_jitter_ms", "random extra pause added to reconnect_wait_ms",
        [](auto& c) -> auto& { return c.nats.reconnect_jitter_ms; }, milliseconds{0}));
    t.push_back(integer(
        "nats", "max_reconnect", "reconnect attempts per server before giving up; -1: forever",
        [](auto& c) -> auto& { return c.nats.max_reconnect; }, -1, std::numeric_limits<std::int32_t>::max()));
    t.push_back(size(
        "nats", "reconnect_buffer_bytes", "outgoing bytes kept while reconnecting (e.g. 8MiB)",
        [](auto& c) -> auto& { return c.nats.reconnect_buffer_bytes; }, 0, std::uint64_t{1} << 40));
    t.push_back(text(
        "nats", "monitor_url", "nats-server's monitoring URL (http://host:port), read by `report`",
        [](auto& c) -> auto& { return c.nats.monitor_url; }));

    // [router]
    t.push_back(name(
        "router", "decide_subject", "subject of decide requests (wildcards allowed)",
        [](auto& c) -> auto& { return c.router.decide_subject; }, name_kind::subscribe_subject));
    t.push_back(name(
        "router", "queue_group", "queue group shared by every router instance",
        [](auto& c) -> auto& { return c.router.queue_group; }, name_kind::token));
    t.push_back(name(
        "router", "breaker_events_subject", "core subject routers share breaker events on (no queue group)",
        [](auto& c) -> auto& { return c.router.breaker_events_subject; }, name_kind::publish_subject));
    t.push_back(text(
        "router", "policies_dir", "directory of policy JSON files (relative to the working directory)",
        [](auto& c) -> auto& { return c.router.policies_dir; }, true));
    auto threads = integer(
        "router", "threads", "threads; auto: one per core (from 2, one of them reads NATS and decides, alone)",
        [](auto& c) -> auto& { return c.router.threads; }, 1, 1024);
    threads.set = [inner = threads.set](config& c, std::string_view v) -> std::string
    {
        if (trim(v) == "auto")
        {
            c.router.threads = default_config().router.threads;
            return {};
        }
        return inner(c, v);
    };
    t.push_back(std::move(threads));
    t.push_back(size(
        "router", "max_payload", "largest decide request accepted, in bytes",
        [](auto& c) -> auto& { return c.router.max_payload; }, 1, std::uint64_t{64} << 20));
    t.push_back(name(
        "router", "assignment_subject", "subject of ExecAssignment messages",
        [](auto& c) -> auto& { return c.router.assignment_subject; }, name_kind::publish_subject));
    t.push_back(name(
        "router", "assignment_subject_prefix", "prefix of per-provider assignment subjects",
        [](auto& c) -> auto& { return c.router.assignment_subject_prefix; }, name_kind::subject_prefix));
    t.push_back(name(
        "router", "status_subject", "request/reply subject of the backpressure status",
        [](auto& c) -> auto& { return c.router.status_subject; }, name_kind::publish_subject));
    t.push_back(name(
        "router", "admin_subject_prefix", "prefix of the admin request subjects (token required)",
        [](auto& c) -> auto& { return c.router.admin_subject_prefix; }, name_kind::subject_prefix));
    t.push_back(make(
        "router", "state", "where shared state lives: local (this process) or jetstream (KV buckets on the cluster)",
        [](config& c, std::string_view v) -> std::string
        {
            auto s = trim(v);
            if (s != "local" && s != "jetstream") return in_quotes(v) + " is not a state store (local or jetstream)";
            c.router.state = std::string(s);
            return {};
        },
        [](const config& c) { return c.router.state; }));
    t.push_back(duration_s(
        "router", "idempotency_ttl_s", "how long a request id is remembered, in seconds",
        [](auto& c) -> auto& { return c.router.idempotency_ttl_s; }));
    auto tenants = list(
        "router", "tenants_allow", "tenants allowed to ask, comma-separated; empty: all",
        [](auto& c) -> auto& { return c.router.tenants_allow; });
    tenants.set = [inner = tenants.set](config& c, std::string_view v) -> std::string
    {
        // An entry the router could never match is a typo, not a wish: each must be a tenant id.
        if (trim(v).empty()) return inner(c, v);
        std::string_view rest = v;
        for (std::size_t n = 1;; ++n)
        {
            const auto comma = rest.find(',');
            const auto entry = trim(rest.substr(0, comma));
            if (entry.empty())
                return "entry " + std::to_string(n) + " is empty (a doubled or trailing comma?)";
            if (!router::is_tenant_or_policy_id(entry))
                return "entry " + in_quotes(entry) +
                       " is not a tenant id (1-64 characters of [A-Za-z0-9_.-])";
            if (comma == std::string_view::npos) break;
            rest.remove_prefix(comma + 1);
        }
        return inner(c, v);
    };
    t.push_back(std::move(tenants));
    t.push_back(integer(
        "router", "tenant_inflight_max", "decisions in flight per tenant before it is refused",
        [](auto& c) -> auto& { return c.router.tenant_inflight_max; }, 1, u32_max));
    t.push_back(integer(
        "router", "max_tenants", "tenants whose state is kept; beyond it the least recently used idle one is evicted",
        [](auto& c) -> auto& { return c.router.max_tenants; }, 1, u32_max));
    t.push_back(integer(
        "router", "tenant_rps", "requests per second each tenant may make (token bucket); 0: no limit",
        [](auto& c) -> auto& { return c.router.tenant_rps; }, 0, u32_max));
    t.push_back(integer(
        "router", "tenant_burst", "burst of the per-tenant bucket; 0: same as tenant_rps",
        [](auto& c) -> auto& { return c.router.tenant_burst; }, 0, u32_max));
    t.push_back(duration_ms(
        "router", "drain_timeout_ms", "bound on finishing in-flight work after SIGTERM",
        [](auto& c) -> auto& { return c.router.drain_timeout_ms; }, milliseconds{0}));
    t.push_back(text(
        "router", "pidfile", "pidfile written by start and read by stop, status, restart",
        [](auto& c) -> auto& { return c.router.pidfile; }, true));

    // [http]
    t.push_back(make(
        "http", "listen", "address of the HTTP server, host:port (port 0: any free port)",
        [](config& c, std::string_view v) -> std::string
        {
            auto hp = common::parse_listen_address(v);
            if (!hp) return hp.error();
            c.http.listen = hp.value();
            return {};
        },
        [](const config& c) { return common::to_string(c.http.listen); }));
    t.push_back(secret(
        "http", "admin_token", "bearer token of the admin endpoints; empty: they refuse",
        [](auto& c) -> auto& { return c.http.admin_token; }));
    t.push_back(duration_ms(
        "http", "request_timeout_ms", "time allowed to read a request and write its response",
        [](auto& c) -> auto& { return c.http.request_timeout_ms; }, milliseconds{1}));
    t.push_back(duration_ms(
        "http", "idle_timeout_ms", "how long a connection may wait for the first byte of a request",
        [](auto& c) -> auto& { return c.http.idle_timeout_ms; }, milliseconds{1}));
    t.push_back(integer(
        "http", "max_connections", "open connections; at the limit the longest-waiting one makes room",
        [](auto& c) -> auto& { return c.http.max_connections; }, 1, u32_max));
    t.push_back(size(
        "http", "body_limit", "largest request body accepted, in bytes",
        [](auto& c) -> auto& { return c.http.body_limit; }, 1, std::uint64_t{1} << 30));
    t.push_back(integer(
        "http", "metrics_tenant_cap", "tenants with their own metric labels; others count as other",
        [](auto& c) -> auto& { return c.http.metrics_tenant_cap; }, 0, u32_max));

    // [jetstream]
    t.push_back(boolean(
        "jetstream", "enabled", "consume execution results, meter usage, dead-letter (false: decide only)",
        [](auto& c) -> auto& { return c.jetstream.enabled; }));
    t.push_back(boolean(
        "jetstream", "bootstrap", "create or update the streams at start (false: only check them)",
        [](auto& c) -> auto& { return c.jetstream.bootstrap; }));
    t.push_back(text(
        "jetstream", "results_stream", "stream of execution results",
        [](auto& c) -> auto& { return c.jetstream.results_stream; }, true));
    t.push_back(name(
        "jetstream", "results_subject", "subject execution results arrive on (dead letters: <subject>.dlq)",
        [](auto& c) -> auto& { return c.jetstream.results_subject; }, name_kind::publish_subject));
    t.push_back(text(
        "jetstream", "usage_stream", "stream of usage events",
        [](auto& c) -> auto& { return c.jetstream.usage_stream; }, true));
    t.push_back(name(
        "jetstream", "usage_subject", "subject of usage events",
        [](auto& c) -> auto& { return c.jetstream.usage_subject; }, name_kind::publish_subject));
    t.push_back(text(
        "jetstream", "dlq_stream", "stream of dead letters",
        [](auto& c) -> auto& { return c.jetstream.dlq_stream; }, true));
    t.push_back(text(
        "jetstream", "consumer", "durable consumer shared by every router",
        [](auto& c) -> auto& { return c.jetstream.consumer; }, true));
    t.push_back(integer(
        "jetstream", "replicas", "replicas of the streams (3 on a three-node cluster)",
        [](auto& c) -> auto& { return c.jetstream.replicas; }, 1, 5));

    // [log]
    t.push_back(make(
        "log", "level", "lowest level written: debug, info, warn or error",
        [](config& c, std::string_view v) -> std::string
        {
            if (!log::parse_level(trim(v)))
                return in_quotes(v) + " is not a level (debug, info, warn or error)";
            c.log.level = std::string(trim(v));
            return {};
        },
        [](const config& c) { return c.log.level; }));
    t.push_back(text(
        "log", "file", "stderr, or a file appended to (reopened on SIGHUP)",
        [](auto& c) -> auto& { return c.log.file; }, true));

    // [backpressure] (SPEC §12): the marks of each input, the hysteresis delays, the retry hint.
    auto flag = make(
        "backpressure", "enabled", "true: overload is shed with overloaded replies; false: never",
        [](config& c, std::string_view v) -> std::string
        {
            const auto word = trim(v);
            if (word == "true" || word == "1" || word == "yes" || word == "on") c.backpressure.enabled = true;
            else if (word == "false" || word == "0" || word == "no" || word == "off") c.backpressure.enabled = false;
            else return in_quotes(v) + " is not true or false";
            return {};
        },
        [](const config& c) { return std::string(c.backpressure.enabled ? "true" : "false"); });
    t.push_back(std::move(flag));
    constexpr std::int64_t i64_max = std::numeric_limits<std::int64_t>::max();
    auto mark = [&](const char* key, const char* help, auto field)
    { t.push_back(integer("backpressure", key, help, field, 0, i64_max)); };
    mark("inflight_high", "decisions in flight above which the router is overloaded",
         [](auto& c) -> auto& { return c.backpressure.inflight_high; });
    mark("inflight_low", "decisions in flight below which it has recovered",
         [](auto& c) -> auto& { return c.backpressure.inflight_low; });
    mark("latency_p95_high_ms", "p95 decide latency over 10 s, in ms, above which it is overloaded",
         [](auto& c) -> auto& { return c.backpressure.latency_p95_high_ms; });
    mark("latency_p95_low_ms", "p95 decide latency, in ms, below which it has recovered",
         [](auto& c) -> auto& { return c.backpressure.latency_p95_low_ms; });
    t.push_back(size(
        "backpressure", "pending_bytes_high", "NATS outbound bytes not yet written above which it is overloaded",
        [](auto& c) -> auto& { return c.backpressure.pending_bytes_high; }, 0, std::uint64_t{1} << 40));
    t.push_back(size(
        "backpressure", "pending_bytes_low", "NATS outbound bytes below which it has recovered",
        [](auto& c) -> auto& { return c.backpressure.pending_bytes_low; }, 0, std::uint64_t{1} << 40));
    mark("consumer_pending_high", "results consumer pending + ack-pending above which it is overloaded",
         [](auto& c) -> auto& { return c.backpressure.consumer_pending_high; });
    mark("consumer_pending_low", "results consumer backlog below which it has recovered",
         [](auto& c) -> auto& { return c.backpressure.consumer_pending_low; });
    t.push_back(duration_ms(
        "backpressure", "activate_after_ms", "time one input must stay above its high mark to activate",
        [](auto& c) -> auto& { return c.backpressure.activate_after_ms; }, milliseconds{0}));
    t.push_back(duration_ms(
        "backpressure", "recover_after_ms", "time every input must stay below its low mark to recover",
        [](auto& c) -> auto& { return c.backpressure.recover_after_ms; }, milliseconds{0}));
    t.push_back(duration_ms(
        "backpressure", "retry_after_base_ms", "retry_after_ms at an overload of 1 (it grows with the overload)",
        [](auto& c) -> auto& { return c.backpressure.retry_after_base_ms; }, milliseconds{1}));
    t.push_back(duration_ms(
        "backpressure", "retry_after_max_ms", "largest retry_after_ms ever suggested",
        [](auto& c) -> auto& { return c.backpressure.retry_after_max_ms; }, milliseconds{1}));
    t.push_back(duration_ms(
        "backpressure", "evaluate_interval_ms", "how often the inputs are sampled and the state moved",
        [](auto& c) -> auto& { return c.backpressure.evaluate_interval_ms; }, milliseconds{10}));
    auto delay = make(
        "backpressure", "diagnostic_decide_delay_us",
        "test/diagnostic only: make every decision take this long, in microseconds (0: off)",
        [](config& c, std::string_view v) -> std::string
        {
            auto n = parse_whole_number(trim(v));
            if (!n || n.value() > 10'000'000) return in_quotes(v) + " is not a whole number of microseconds up to 10000000";
            c.backpressure.diagnostic_decide_delay_us = std::chrono::microseconds(n.value());
            return {};
        },
        [](const config& c) { return std::to_string(c.backpressure.diagnostic_decide_delay_us.count()); });
    t.push_back(std::move(delay));
    auto slots = make(
        "backpressure", "diagnostic_decide_slots",
        "test/diagnostic only: how many slowed decisions run at once (capacity is about slots / delay)",
        [](config& c, std::string_view v) -> std::string
        {
            auto n = parse_whole_number(trim(v));
            if (!n || n.value() < 1 || n.value() > 4096) return in_quotes(v) + " is not a whole number from 1 to 4096";
            c.backpressure.diagnostic_decide_slots = n.value();
            return {};
        },
        [](const config& c) { return std::to_string(c.backpressure.diagnostic_decide_slots); });
    t.push_back(std::move(slots));
    return t;
}

} // namespace

const std::vector<key_spec>& keys()
{
    static const std::vector<key_spec> table = build_table();
    return table;
}

const key_spec* find(std::string_view name)
{
    for (const auto& spec : keys())
        if (spec.name == name) return &spec;
    return nullptr;
}

const key_spec* find_env(std::string_view env_name)
{
    for (const auto& spec : keys())
        if (spec.env == env_name) return &spec;
    return nullptr;
}

const std::vector<std::string>& sections()
{
    // From the table, so a key in a new section makes the section known everywhere at once.
    static const std::vector<std::string> names = []
    {
        std::vector<std::string> v;
        for (const auto& spec : keys())
            if (std::find(v.begin(), v.end(), spec.section) == v.end()) v.push_back(spec.section);
        return v;
    }();
    return names;
}

bool is_section(std::string_view section)
{
    const auto& all = sections();
    return std::find(all.begin(), all.end(), section) != all.end();
}

} // namespace beamline::app::schema
