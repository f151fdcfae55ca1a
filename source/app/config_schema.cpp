#include "beamline/app/config_schema.hpp"

#include "beamline/app/logging.hpp"
#include "beamline/app/text.hpp"
#include "beamline/app/units.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>

namespace beamline::app::schema
{
namespace
{

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

// NATS subjects: dot-separated tokens, no blanks, no wildcards (we publish and serve on them).
std::string subject_problem(std::string_view value, bool is_prefix)
{
    if (value.empty()) return "must not be empty";
    std::string_view body = value;
    if (is_prefix)
    {
        if (value.back() != '.') return in_quotes(value) + " must end with \".\" (it is a subject prefix)";
        body.remove_suffix(1);
    }
    if (body.find_first_of(" \t\r\n") != std::string_view::npos)
        return in_quotes(value) + " is not a valid subject: it contains a blank";
    std::size_t start = 0;
    while (true)
    {
        const auto dot = body.find('.', start);
        const auto token =
            body.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (token.empty()) return in_quotes(value) + " is not a valid subject: it has an empty token";
        if (token == "*" || token == ">")
            return in_quotes(value) + " is not a valid subject: wildcards are not allowed here";
        if (dot == std::string_view::npos) return {};
        start = dot + 1;
    }
}

std::string nats_url_problem(std::string_view url)
{
    std::string_view rest = url;
    if (const auto scheme_end = url.find("://"); scheme_end != std::string_view::npos)
    {
        const auto scheme = url.substr(0, scheme_end);
        if (scheme != "nats" && scheme != "tls")
            return in_quotes(url) + " has scheme " + in_quotes(scheme) + "; use nats:// or tls://";
        rest = url.substr(scheme_end + 3);
    }
    if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.empty()) return in_quotes(url) + " has no host";
    if (rest.find(':') != std::string_view::npos && !parse_host_port(rest))
        return in_quotes(url) + " has a bad port";
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
key_spec subject(std::string section, std::string key, std::string help, Field field, bool is_prefix = false)
{
    return make(
        std::move(section), std::move(key), std::move(help),
        [field, is_prefix](config& c, std::string_view v) -> std::string
        {
            if (auto problem = subject_problem(v, is_prefix); !problem.empty()) return problem;
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
            if (auto problem = nats_url_problem(url); !problem.empty()) return problem;
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
    t.push_back(subject(
        "router", "decide_subject", "subject of decide requests",
        [](auto& c) -> auto& { return c.router.decide_subject; }));
    t.push_back(subject(
        "router", "queue_group", "queue group shared by every router instance",
        [](auto& c) -> auto& { return c.router.queue_group; }));
    t.push_back(text(
        "router", "policies_dir", "directory of policy JSON files (relative to the working directory)",
        [](auto& c) -> auto& { return c.router.policies_dir; }, true));
    auto threads = integer(
        "router", "threads", "worker threads; auto: one per core",
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
    t.push_back(subject(
        "router", "assignment_subject", "subject of ExecAssignment messages",
        [](auto& c) -> auto& { return c.router.assignment_subject; }));
    t.push_back(subject(
        "router", "assignment_subject_prefix", "prefix of per-provider assignment subjects",
        [](auto& c) -> auto& { return c.router.assignment_subject_prefix; }, true));
    t.push_back(duration_s(
        "router", "idempotency_ttl_s", "how long a request id is remembered, in seconds",
        [](auto& c) -> auto& { return c.router.idempotency_ttl_s; }));
    t.push_back(list(
        "router", "tenants_allow", "tenants allowed to ask, comma-separated; empty: all",
        [](auto& c) -> auto& { return c.router.tenants_allow; }));
    t.push_back(subject(
        "router", "result_subject", "subject of execution results",
        [](auto& c) -> auto& { return c.router.result_subject; }));
    t.push_back(subject(
        "router", "usage_subject", "subject of usage events",
        [](auto& c) -> auto& { return c.router.usage_subject; }));
    t.push_back(subject(
        "router", "status_subject", "request/reply subject of the backpressure status",
        [](auto& c) -> auto& { return c.router.status_subject; }));
    t.push_back(subject(
        "router", "admin_subject_prefix", "prefix of the admin request subjects (token required)",
        [](auto& c) -> auto& { return c.router.admin_subject_prefix; }, true));
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
            auto hp = parse_host_port(trim(v));
            if (!hp) return in_quotes(v) + " is not host:port (e.g. 0.0.0.0:8080 or [::1]:8080)";
            c.http.listen = *hp;
            return {};
        },
        [](const config& c) { return to_string(c.http.listen); }));
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
    t.push_back(subject(
        "jetstream", "results_subject", "subject execution results arrive on (dead letters: <subject>.dlq)",
        [](auto& c) -> auto& { return c.jetstream.results_subject; }));
    t.push_back(text(
        "jetstream", "usage_stream", "stream of usage events",
        [](auto& c) -> auto& { return c.jetstream.usage_stream; }, true));
    t.push_back(subject(
        "jetstream", "usage_subject", "subject of usage events",
        [](auto& c) -> auto& { return c.jetstream.usage_subject; }));
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

bool is_section(std::string_view section)
{
    return section == "nats" || section == "router" || section == "http" || section == "log" ||
           section == "jetstream" || section == "backpressure";
}

std::string section_of_env(std::string_view env_name)
{
    for (std::string_view section : {"nats", "router", "http", "log", "jetstream", "backpressure"})
    {
        const std::string prefix = "BEAMLINE_" + text::to_upper(section) + "_";
        if (env_name.starts_with(prefix) && env_name.size() > prefix.size()) return std::string(section);
    }
    return {};
}

} // namespace beamline::app::schema

namespace beamline::app
{

std::optional<host_port> parse_host_port(std::string_view text)
{
    std::string_view host;
    std::string_view port;
    if (!text.empty() && text.front() == '[')
    {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        // Brackets hold an IPv6 address (hex digits, colons, an embedded IPv4 address) and nothing else.
        if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string_view::npos)
            return std::nullopt;
    }
    else
    {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos || host.find_first_of(" \t/") != std::string_view::npos)
            return std::nullopt;
        // A name or an IPv4 address: printable ASCII only, so no control byte reaches a log or a file.
        if (std::any_of(host.begin(), host.end(), [](char c) { return c < '!' || c > '~'; }))
            return std::nullopt;
    }
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
        return std::nullopt;
    return host_port{host.empty() ? "0.0.0.0" : std::string(host), static_cast<std::uint16_t>(value)};
}

std::string to_string(const host_port& hp)
{
    const bool v6 = hp.host.find(':') != std::string::npos;
    return (v6 ? "[" + hp.host + "]" : hp.host) + ":" + std::to_string(hp.port);
}

} // namespace beamline::app
