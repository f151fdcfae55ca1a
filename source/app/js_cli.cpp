#include "beamline/app/js_cli.hpp"

#include "beamline/app/dlq_verbs.hpp"

#include "beamline/app/cli_flags.hpp"
#include "beamline/app/config.hpp"
#include "beamline/app/units.hpp"
#include "beamline/nats/jetstream/context.hpp"
#include "beamline/nats/jetstream/kv.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/program_options.hpp>

#include <iostream>
#include <sstream>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

namespace beamline::app
{
namespace
{

namespace po = boost::program_options;
namespace asio = boost::asio;
namespace js = nats::jetstream;
using std::chrono::milliseconds;

constexpr const char* usage = R"(usage:
  beamline_router js account
  beamline_router js stream ls
  beamline_router js stream info NAME
  beamline_router js stream add NAME --subjects S [S...] [--storage file|memory] [--max-age D] [--dupe-window D]
  beamline_router js stream purge NAME --force
  beamline_router js stream rm NAME --force
  beamline_router js consumer ls STREAM
  beamline_router js consumer info STREAM NAME
  beamline_router js pub SUBJECT BODY [--msg-id ID]       prints the PubAck
  beamline_router js kv get BUCKET KEY
  beamline_router js kv put BUCKET KEY VALUE               creates the bucket when it is missing
  beamline_router js kv ls BUCKET                          the bucket's keys
  beamline_router js dlq ls [--last N] [--stream S]        the newest dead letters [10, BEAMLINE_DLQ]
  beamline_router js dlq replay SEQ [--stream S]           republishes one to its original subject

connection (default: the configuration's nats.* keys; --config FILE and --nats.KEY VALUE work here):
  -s, --server URL      server URL, repeatable (nats://host:port, tls://host:port)
      --tls-ca FILE / --tls-cert FILE / --tls-key FILE
      --user USER / --password PASS / --token TOKEN
      --domain D        JetStream domain ($JS.D.API)
      --timeout D       connect and API timeout, e.g. 500ms, 5s [5s]
  -h, --help
exit codes: 0 done, 1 the operation failed, 2 bad usage.
)";

struct js_command
{
    std::vector<std::string> words;
    std::vector<std::string> subjects;
    std::string storage = "file";
    std::optional<milliseconds> max_age;
    std::optional<milliseconds> dupe_window;
    std::string msg_id;
    bool force = false;
    std::size_t last = 10;
    std::string dlq_stream = "BEAMLINE_DLQ";
    nats::client_options client;
    js::jetstream_options js;
};

/// `<what>: <name> (err_code N)` for API errors about a named object, the error's words otherwise.
std::string failure(std::error_code ec, const js::api_error& detail, const std::string& name)
{
    if (detail.err_code != 0 && !name.empty())
    {
        std::string what = detail.description.empty() ? ec.message() : detail.description;
        return what + ": " + name + " (err_code " + std::to_string(detail.err_code) + ")";
    }
    if (ec == js::js_errc::not_enabled) return "JetStream is not enabled on the server (no responders on the API)";
    return js::describe(ec, detail);
}

template <class T>
int report(const std::string& verb, const js::api_result<T>& r, const std::string& name = {})
{
    std::cerr << "js " << verb << ": " << failure(r.ec, r.error, name) << "\n";
    return 1;
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ")
{
    std::string out;
    for (const auto& s : v)
        out += (out.empty() ? "" : sep) + s;
    return out;
}

void print_stream(const js::stream_info& s)
{
    const auto& c = s.config;
    std::cout << "Stream " << c.name << "\n"
              << "  Subjects: " << join(c.subjects) << "\n"
              << "  Storage: " << c.storage << ", retention: " << c.retention << ", replicas: " << c.num_replicas << "\n"
              << "  Max age: " << (c.max_age.count() ? format_duration(c.max_age) : "unlimited")
              << ", duplicate window: " << format_duration(c.duplicate_window) << "\n"
              << "  Messages: " << s.state.messages << "\n"
              << "  Bytes: " << s.state.bytes << "\n"
              << "  First sequence: " << s.state.first_seq << ", last sequence: " << s.state.last_seq << "\n"
              << "  Consumers: " << s.state.consumer_count << "\n";
}

void print_consumer(const js::consumer_info& c)
{
    const auto& k = c.config;
    std::cout << "Consumer " << c.name << " on stream " << c.stream_name << "\n"
              << "  Kind: " << (k.deliver_subject.empty() ? "pull" : "push") << ", "
              << (k.durable_name.empty() ? "ephemeral" : "durable") << "\n"
              << "  Ack policy: " << k.ack_policy << ", ack wait: " << format_duration(k.ack_wait)
              << ", max deliver: " << k.max_deliver << "\n"
              << "  Filter: " << (k.filter_subject.empty() ? "(none)" : k.filter_subject) << "\n"
              << "  Pending: " << c.num_pending << ", ack pending: " << c.num_ack_pending
              << ", redelivered: " << c.num_redelivered << ", waiting pulls: " << c.num_waiting << "\n"
              << "  Delivered: stream seq " << c.delivered.stream_seq << ", ack floor: stream seq "
              << c.ack_floor.stream_seq << "\n";
}

asio::awaitable<int> stream_verb(js::context& ctx, const js_command& o)
{
    const auto& w = o.words;
    const std::string& sub = w[1];
    if (sub == "ls")
    {
        auto r = co_await ctx.list_streams();
        if (r.ec) co_return report("stream ls", r);
        if (r.value.empty()) std::cout << "No streams\n";
        for (const auto& s : r.value)
            std::cout << s.config.name << "  subjects=" << join(s.config.subjects, ",") << "  messages="
                      << s.state.messages << "  bytes=" << s.state.bytes << "\n";
        co_return 0;
    }
    const std::string& name = w[2];
    if (sub == "info")
    {
        auto r = co_await ctx.get_stream_info(name);
        if (r.ec) co_return report("stream info", r, name);
        print_stream(r.value);
        co_return 0;
    }
    if (sub == "add")
    {
        js::stream_config c;
        c.name = name;
        c.subjects = o.subjects;
        c.storage = o.storage;
        if (o.max_age) c.max_age = *o.max_age;
        if (o.dupe_window) c.duplicate_window = *o.dupe_window;
        auto r = co_await ctx.create_stream(c);
        if (r.ec) co_return report("stream add", r, name);
        print_stream(r.value);
        co_return 0;
    }
    if (sub == "purge")
    {
        auto r = co_await ctx.purge_stream(name);
        if (r.ec) co_return report("stream purge", r, name);
        std::cout << "Purged " << r.value << " message(s) from stream " << name << "\n";
        co_return 0;
    }
    // rm
    auto r = co_await ctx.delete_stream(name);
    if (r.ec) co_return report("stream rm", r, name);
    std::cout << "Deleted stream " << name << "\n";
    co_return 0;
}

asio::awaitable<int> consumer_verb(js::context& ctx, const js_command& o)
{
    const auto& w = o.words;
    const std::string& stream = w[2];
    if (w[1] == "ls")
    {
        auto r = co_await ctx.consumer_names(stream);
        if (r.ec) co_return report("consumer ls", r, stream);
        if (r.value.empty()) std::cout << "No consumers on stream " << stream << "\n";
        for (const auto& n : r.value)
            std::cout << n << "\n";
        co_return 0;
    }
    auto r = co_await ctx.get_consumer_info(stream, w[3]);
    if (r.ec) co_return report("consumer info", r, r.ec == js::js_errc::stream_not_found ? stream : w[3]);
    print_consumer(r.value);
    co_return 0;
}

asio::awaitable<int> kv_verb(js::context& ctx, const js_command& o)
{
    const auto& w = o.words;
    const std::string& verb = w[1];
    const std::string& bucket = w[2];
    js::api_result<js::kv_bucket> b;
    if (verb == "put")
    {
        js::kv_config c;
        c.bucket = bucket;
        b = co_await js::kv_bucket::bind(ctx, bucket);
        if (b.ec == js::js_errc::stream_not_found) b = co_await js::kv_bucket::create(ctx, c);
    }
    else
        b = co_await js::kv_bucket::bind(ctx, bucket);
    if (b.ec == js::js_errc::stream_not_found)
    {
        std::cerr << "js kv " << verb << ": bucket not found: " << bucket << " (err_code 10059)\n";
        co_return 1;
    }
    if (b.ec) co_return report("kv " + verb, b, bucket);
    if (verb == "get")
    {
        auto r = co_await b.value.get(w[3]);
        if (r.ec == js::js_errc::key_not_found)
        {
            std::cerr << "js kv get: key not found: " << bucket << "/" << w[3] << "\n";
            co_return 1;
        }
        if (r.ec) co_return report("kv get", r, w[3]);
        std::cout << r.value.value << "\n";
        co_return 0;
    }
    if (verb == "put")
    {
        auto r = co_await b.value.put(w[3], w[4]);
        if (r.ec) co_return report("kv put", r, w[3]);
        std::cout << "Stored " << bucket << "/" << w[3] << " at revision " << r.value << "\n";
        co_return 0;
    }
    auto r = co_await b.value.keys();
    if (r.ec) co_return report("kv ls", r, bucket);
    if (r.value.empty()) std::cout << "No keys in bucket " << bucket << "\n";
    for (const auto& k : r.value)
        std::cout << k << "\n";
    co_return 0;
}

asio::awaitable<int> run_command(asio::io_context& io, js_command o)
{
    auto core = nats::client::create(io.get_executor(), o.client);
    if (auto ec = co_await core->connect())
    {
        std::string text = core->last_error_text();
        std::cerr << "js " << o.words[0] << ": cannot connect: " << (text.empty() ? ec.message() : text) << "\n";
        core->close();
        co_return 1;
    }
    js::context ctx(io.get_executor(), core, o.js);
    int rc = 0;
    const std::string& area = o.words[0];
    if (area == "account")
    {
        auto r = co_await ctx.get_account_info();
        if (r.ec)
            rc = report("account", r);
        else
            std::cout << "Streams: " << r.value.streams << ", consumers: " << r.value.consumers
                      << ", memory: " << r.value.memory << " B, storage: " << r.value.storage
                      << " B, API calls: " << r.value.api_total << " (" << r.value.api_errors << " errors)\n";
    }
    else if (area == "stream")
        rc = co_await stream_verb(ctx, o);
    else if (area == "consumer")
        rc = co_await consumer_verb(ctx, o);
    else if (area == "kv")
        rc = co_await kv_verb(ctx, o);
    else if (area == "dlq" && o.words[1] == "ls")
        rc = co_await dlq_list(ctx, o.dlq_stream, o.last);
    else if (area == "dlq")
        rc = co_await dlq_replay(ctx, o.dlq_stream, std::stoull(o.words[2]));
    else // pub
    {
        js::publish_options p;
        p.msg_id = o.msg_id;
        auto r = co_await ctx.publish(o.words[1], o.words[2], p);
        if (r.ec == js::js_errc::no_stream_response)
        {
            std::cerr << "js pub: no stream stores subject " << o.words[1] << "\n";
            rc = 1;
        }
        else if (r.ec)
            rc = report("pub", r, o.words[1]);
        else
            std::cout << "PubAck: stream=" << r.value.stream << " seq=" << r.value.seq
                      << (r.value.duplicate ? " duplicate" : "") << (r.value.domain.empty() ? "" : " domain=" + r.value.domain)
                      << "\n";
    }
    core->close();
    co_return rc;
}

/// Which words each verb takes; an empty string when `words` are a valid command.
std::string check_words(const js_command& o)
{
    const auto& w = o.words;
    auto n = w.size();
    std::string area = n ? w[0] : "";
    std::string verb = n > 1 ? w[1] : "";
    if (area == "account") return n == 1 ? "" : "expected `account`";
    if (area == "pub") return n == 3 ? "" : "expected `pub SUBJECT BODY`";
    if (area == "stream")
    {
        if (verb == "ls") return n == 2 ? "" : "expected `stream ls`";
        if (verb == "info" || verb == "purge" || verb == "rm" || verb == "add")
        {
            if (n != 3) return "expected `stream " + verb + " NAME`";
            if (verb == "add" && o.subjects.empty()) return "stream add needs --subjects";
            if ((verb == "purge" || verb == "rm") && !o.force)
                return "refusing to " + verb + " stream " + w[2] + " without --force";
            return "";
        }
        return "unknown stream verb `" + verb + "`";
    }
    if (area == "consumer")
    {
        if (verb == "ls") return n == 3 ? "" : "expected `consumer ls STREAM`";
        if (verb == "info") return n == 4 ? "" : "expected `consumer info STREAM NAME`";
        return "unknown consumer verb `" + verb + "`";
    }
    if (area == "kv")
    {
        if (verb == "get") return n == 4 ? "" : "expected `kv get BUCKET KEY`";
        if (verb == "put") return n == 5 ? "" : "expected `kv put BUCKET KEY VALUE`";
        if (verb == "ls") return n == 3 ? "" : "expected `kv ls BUCKET`";
        return "unknown kv verb `" + verb + "`";
    }
    if (area == "dlq")
    {
        if (verb == "ls") return n == 2 ? "" : "expected `dlq ls [--last N]`";
        if (verb == "replay")
            return n == 3 && !w[2].empty() && w[2].size() <= 19 && w[2].find_first_not_of("0123456789") == std::string::npos && w[2] != "0"
                       ? ""
                       : "expected `dlq replay SEQ` with SEQ a stream sequence (1, 2, ...)";
        return "unknown dlq verb `" + verb + "`";
    }
    return area.empty() ? "a verb is needed" : "unknown verb `" + area + "`";
}

/// The connection the configuration describes (defaults, file, environment, --nats.* flags).
std::optional<nats::client_options> configured_connection(std::vector<std::string>& args)
{
    auto sources = take_config_arguments(args);
    sources.environment = process_environment();
    auto r = load_config(sources);
    if (!r)
    {
        std::cerr << "js: " << r.error().message << "\n";
        return std::nullopt;
    }
    const nats_config& n = r->nats;
    nats::client_options c;
    c.servers = n.url;
    c.user = n.user;
    c.password = n.password;
    c.token = n.token;
    c.tls.ca_file = n.tls_ca;
    c.tls.cert_file = n.tls_cert;
    c.tls.key_file = n.tls_key;
    c.connect_timeout = n.connect_timeout_ms;
    return c;
}

} // namespace

int run_js_cli(std::vector<std::string> args)
{
    for (const auto& a : args)
        if (a == "--help" || a == "-h")
        {
            std::cout << usage;
            return 0;
        }
    auto base = configured_connection(args);
    if (!base) return 2;
    js_command o;
    o.client = *base;
    std::vector<std::string> servers;
    std::string timeout_text, max_age_text, dupe_text;
    po::options_description desc;
    add_connection_flags(desc, o.client, servers);
    desc.add_options()("domain", po::value(&o.js.domain), "")("timeout", po::value(&timeout_text), "")(
        "subjects", po::value(&o.subjects)->multitoken(), "")("storage", po::value(&o.storage), "")(
        "max-age", po::value(&max_age_text), "")("dupe-window", po::value(&dupe_text), "")(
        "msg-id", po::value(&o.msg_id), "")("force,f", po::bool_switch(&o.force), "")(
        "last", po::value(&o.last), "")("stream", po::value(&o.dlq_stream), "");
    po::variables_map vm;
    if (!parse_flags(args, desc, vm, o.words, "js", usage)) return 2;
    if (auto problem = check_words(o); !problem.empty())
    {
        std::cerr << "js: " << problem << "\n" << usage;
        return 2;
    }
    if (o.storage != "file" && o.storage != "memory")
    {
        std::cerr << "js: --storage: \"" << o.storage << "\" is neither file nor memory\n";
        return 2;
    }
    auto duration = [](const std::string& flag, const std::string& text, std::optional<milliseconds>& out) {
        if (text.empty()) return true;
        auto d = parse_duration(text);
        if (!d)
        {
            std::cerr << "js: " << flag << ": " << d.error() << "\n";
            return false;
        }
        out = d.value();
        return true;
    };
    std::optional<milliseconds> timeout;
    if (!duration("--timeout", timeout_text, timeout) || !duration("--max-age", max_age_text, o.max_age) ||
        !duration("--dupe-window", dupe_text, o.dupe_window))
        return 2;
    if (timeout)
    {
        o.js.timeout = *timeout;
        o.client.connect_timeout = std::min(o.client.connect_timeout, *timeout);
    }
    if (!servers.empty()) o.client.servers = servers;
    // One-shot: one pass through the servers, no reconnect storm.
    o.client.max_reconnect = 1;
    o.client.name = "beamline_router-js";

    asio::io_context io;
    return run_to_exit_code(io, run_command(io, std::move(o)), "js");
}

} // namespace beamline::app
