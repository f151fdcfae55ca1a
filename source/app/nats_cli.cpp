#include "beamline/app/nats_cli.hpp"
#include "beamline/common/units.hpp"

#include "beamline/app/cli_flags.hpp"

#include "beamline/nats/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>
#include <optional>

namespace beamline::app
{
namespace
{

namespace po = boost::program_options;
namespace asio = boost::asio;
using std::chrono::milliseconds;

constexpr const char* usage = R"(usage:
  beamline_router nats pub SUBJECT BODY [options]
  beamline_router nats sub SUBJECT [--queue Q] [--count N] [options]
  beamline_router nats request SUBJECT BODY [options]

options:
  -s, --server URL      server URL, repeatable (nats://host:port, tls://host:port) [nats://127.0.0.1:4222]
      --tls-ca FILE     CA to verify the server with
      --tls-cert FILE   client certificate (mutual TLS)
      --tls-key FILE    client key
      --user USER / --password PASS / --token TOKEN
  -H, --header K:V      header to send, repeatable
      --queue Q         queue group (sub)
      --count N         sub: exit 0 after N messages; pub: publish N times
      --timeout D       connect/request/sub timeout, e.g. 500ms, 5s [5s for request; none for sub]
  -h, --help
)";

struct cli_options
{
    std::string verb;
    std::string subject;
    std::string body;
    nats::client_options client;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string queue;
    std::uint64_t count = 0;
    std::optional<milliseconds> timeout;
};

void print_message(const nats::message& m, std::optional<std::uint64_t> index)
{
    std::string out;
    if (index)
    {
        out += "[#" + std::to_string(*index) + "] Received on \"" + std::string(m.subject()) + "\"";
        if (!m.reply().empty()) out += " with reply \"" + std::string(m.reply()) + "\"";
        out += "\n";
    }
    if (!m.header_block().empty())
    {
        auto h = m.parsed_headers();
        if (h.status() != 0)
            out += "Status: " + std::to_string(h.status()) + (h.description().empty() ? "" : " " + std::string(h.description())) + "\n";
        for (const auto& [k, v] : h.fields())
            out += k + ": " + v + "\n";
        out += "\n";
    }
    out.append(m.payload());
    out += "\n";
    if (index) out += "\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
}

std::string connect_failure(const nats::client& c, std::error_code ec)
{
    std::string text = c.last_error_text();
    if (text.empty()) text = ec.message();
    return text;
}

asio::awaitable<int> run_verb(asio::io_context& io, const cli_options& o)
{
    auto c = nats::client::create(io.get_executor(), o.client);
    std::error_code cec = co_await c->connect();
    if (cec)
    {
        std::cerr << "nats " << o.verb << ": " << connect_failure(*c, cec) << "\n";
        c->close();
        co_return 1;
    }
    nats::headers hdrs;
    for (const auto& [k, v] : o.headers)
        hdrs.add(k, v);
    const nats::headers* hp = o.headers.empty() ? nullptr : &hdrs;

    if (o.verb == "pub")
    {
        std::uint64_t n = o.count ? o.count : 1;
        for (std::uint64_t i = 0; i < n; ++i)
            if (auto ec = c->publish(o.subject, o.body, {}, hp))
            {
                std::cerr << "nats pub: " << ec.message() << "\n";
                c->close();
                co_return 1;
            }
        auto ec = co_await c->flush(o.timeout.value_or(milliseconds(5000)));
        c->close();
        if (ec)
        {
            std::cerr << "nats pub: flush failed: " << ec.message() << "\n";
            co_return 1;
        }
        std::cerr << "Published " << n << " message(s) to \"" << o.subject << "\"\n";
        co_return 0;
    }
    if (o.verb == "request")
    {
        auto [ec, reply] = co_await c->request(o.subject, o.body, o.timeout.value_or(milliseconds(5000)), hp);
        c->close();
        if (ec == nats::errc::no_responders)
        {
            std::cerr << "nats request: no responders on subject " << o.subject << "\n";
            co_return 1;
        }
        if (ec == nats::errc::timeout)
        {
            std::cerr << "nats request: no reply on subject " << o.subject << " within "
                      << o.timeout.value_or(milliseconds(5000)).count() << "ms\n";
            co_return 1;
        }
        if (ec)
        {
            std::cerr << "nats request: " << ec.message() << "\n";
            co_return 1;
        }
        print_message(reply, std::nullopt);
        co_return 0;
    }
    // sub
    auto done = std::make_shared<asio::steady_timer>(io, asio::steady_timer::time_point::max());
    auto received = std::make_shared<std::uint64_t>(0);
    nats::subscription_ptr sub;
    nats::subscribe_options so;
    so.queue = o.queue;
    std::uint64_t limit = o.count;
    auto ec = c->subscribe(o.subject, so, [received, limit, done](nats::message m) {
        if (limit && *received >= limit) return;
        print_message(m, ++*received);
        if (limit && *received >= limit) done->cancel();
    }, sub);
    if (ec)
    {
        std::cerr << "nats sub: " << ec.message() << "\n";
        c->close();
        co_return 1;
    }
    if (auto fec = co_await c->flush(milliseconds(5000)))
    {
        std::cerr << "nats sub: subscription not confirmed: " << fec.message() << "\n";
        c->close();
        co_return 1;
    }
    std::cerr << "Subscribed to \"" << o.subject << "\"" << (o.queue.empty() ? "" : " in queue group \"" + o.queue + "\"") << "\n";
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([done](auto, int) { done->cancel(); });
    if (o.timeout) done->expires_after(*o.timeout);
    co_await done->async_wait(asio::as_tuple(asio::use_awaitable));
    signals.cancel();
    c->close();
    if (limit && *received < limit)
    {
        std::cerr << "nats sub: received " << *received << " of " << limit << " messages\n";
        co_return 1;
    }
    co_return 0;
}

} // namespace

int run_nats_cli(const std::vector<std::string>& args)
{
    cli_options o;
    std::vector<std::string> servers;
    std::vector<std::string> header_args;
    std::string timeout_text;
    po::options_description desc;
    add_connection_flags(desc, o.client, servers);
    desc.add_options()("help,h", "")("header,H", po::value(&header_args), "")("queue", po::value(&o.queue), "")(
        "count", po::value(&o.count), "")("timeout", po::value(&timeout_text), "");
    po::variables_map vm;
    std::vector<std::string> words;
    if (!parse_flags(args, desc, vm, words, "nats", usage)) return 2;
    if (vm.count("help"))
    {
        std::cout << usage;
        return 0;
    }
    if (words.empty())
    {
        std::cerr << usage;
        return 2;
    }
    o.verb = words[0];
    std::size_t want = o.verb == "sub" ? 2 : 3;
    if ((o.verb != "pub" && o.verb != "sub" && o.verb != "request") || words.size() != want)
    {
        std::cerr << "nats: expected `" << (o.verb == "sub" ? "sub SUBJECT" : o.verb + " SUBJECT BODY") << "`\n" << usage;
        return 2;
    }
    o.subject = words[1];
    if (want == 3) o.body = words[2];
    if (!servers.empty()) o.client.servers = servers;
    for (const auto& h : header_args)
    {
        auto colon = h.find(':');
        if (colon == std::string::npos || colon == 0)
        {
            std::cerr << "nats: header \"" << h << "\" is not KEY:VALUE\n";
            return 2;
        }
        std::string value = h.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') value.erase(0, 1);
        o.headers.emplace_back(h.substr(0, colon), value);
    }
    if (!timeout_text.empty())
    {
        auto d = common::parse_duration(timeout_text);
        if (!d)
        {
            std::cerr << "nats: --timeout: " << d.error() << "\n";
            return 2;
        }
        o.timeout = d.value();
        o.client.connect_timeout = std::min(o.client.connect_timeout, d.value());
    }
    // pub and request are one-shot: one pass through the servers, no reconnect storm. sub is a
    // long-lived listener and keeps reconnecting, as the official CLI does.
    o.client.max_reconnect = o.verb == "sub" ? -1 : 1;
    o.client.name = "beamline_router-cli";

    asio::io_context io;
    int rc = 1;
    asio::co_spawn(io, run_verb(io, o), [&](std::exception_ptr e, int r) {
        if (e)
        {
            try
            {
                std::rethrow_exception(e);
            }
            catch (const std::exception& ex)
            {
                std::cerr << "nats " << o.verb << ": " << ex.what() << "\n";
            }
            rc = 1;
            return;
        }
        rc = r;
    });
    io.run();
    return rc;
}

} // namespace beamline::app
