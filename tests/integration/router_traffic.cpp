// The router daemon under traffic: thousands of concurrent requests from many tenants, hostile
// input, and SIGTERM in the middle of a stream. Every request that reached the router is answered
// exactly once, and the daemon stays healthy.
#include "router_setup.hpp"

#include <atomic>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <csignal>
#include <map>
#include <sstream>
#include <string>
#include <thread>

using namespace beamline::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace
{

std::string tenant_name(int i)
{
    return "tenant-" + std::to_string(i);
}

// `tenants` tenants with the same policy, a mutual-TLS nats-server (max_payload 4 MiB, so that a
// 2 MiB request reaches the router) and the daemon.
struct traffic_fixture : router_setup
{
    explicit traffic_fixture(int tenants, const env_list& extra_env = {})
        : router_setup(
              nats_server_options{.tls = tls_mode::mutual, .max_payload = 4u << 20},
              [tenants](const policy_dir& dir)
              {
                  for (int i = 0; i < tenants; ++i)
                      dir.write(tenant_name(i), "default", two_provider_policy);
              },
              extra_env)
    {
    }
};

// Replies per request, keyed by the reply subject's last token (the request's index). A request
// published when nothing serves the subject gets nats-server's "503 no responders" status message on
// its reply subject instead: an empty body, not a reply, and not counted.
std::map<std::string, int> count_by_index(const std::vector<received_message>& replies)
{
    std::map<std::string, int> counts;
    for (const auto& r : replies)
        if (!r.data.empty()) ++counts[r.subject.substr(r.subject.rfind('.') + 1)];
    return counts;
}

json::object parse_object(const std::string& text)
{
    BOOST_TEST_INFO("reply: " << text.substr(0, 300));
    auto v = json::parse(text);
    BOOST_TEST_REQUIRE(v.is_object());
    return v.as_object();
}

// How many messages nats-server delivered to the (closed) connection named `name`: its /connz out_msgs.
std::optional<std::size_t> delivered_to(const nats_server& server, const std::string& name)
{
    auto r =
        beamline::app::http_call("127.0.0.1", server.monitor_port(), "GET", "/connz?state=all&limit=1024");
    BOOST_TEST_INFO("/connz: " << r.status << " " << r.body.substr(0, 500) << r.error);
    BOOST_TEST_REQUIRE(r.status == 200);
    auto connz = json::parse(r.body);
    for (const auto& c : connz.at("connections").as_array())
        if (const auto* n = c.as_object().if_contains("name"); n && n->is_string() && n->as_string() == name)
            return c.at("out_msgs").to_number<std::size_t>();
    return std::nullopt;
}

} // namespace

BOOST_AUTO_TEST_SUITE(router_traffic)

BOOST_AUTO_TEST_CASE(two_thousand_concurrent_requests_from_twenty_tenants_each_get_one_reply)
{
    constexpr int tenants = 20;
    constexpr int requests = 2000;
    // Tenant labels capped at 5: the other 15 tenants share "_other" in the per-tenant metrics.
    traffic_fixture f(tenants, env_list{{"BEAMLINE_ROUTER_TENANT_INFLIGHT_MAX", "10000"},
                                        {"BEAMLINE_HTTP_METRICS_TENANT_CAP", "5"}});
    message_collector replies(*f.caller, "it.replies.>");
    BOOST_TEST_REQUIRE(replies.status() == NATS_OK);
    for (int i = 0; i < requests; ++i)
    {
        auto id = std::to_string(i);
        BOOST_TEST_REQUIRE(f.caller->publish(decide_subject,
                                             decide_request(tenant_name(i % tenants), "r-" + id), {},
                                             "it.replies." + id) == NATS_OK);
    }
    BOOST_TEST_REQUIRE(f.caller->flush() == NATS_OK);
    auto got = replies.wait_for(requests, 30s);
    // A duplicate would arrive after the last distinct reply: give it a moment to show up.
    BOOST_TEST(f.caller->flush() == NATS_OK);
    std::this_thread::sleep_for(200ms);
    got = replies.messages();

    auto counts = count_by_index(got);
    int missing = 0;
    int duplicated = 0;
    int refused = 0;
    for (int i = 0; i < requests; ++i)
    {
        auto it = counts.find(std::to_string(i));
        if (it == counts.end())
            ++missing;
        else if (it->second > 1)
            ++duplicated;
    }
    for (const auto& r : got)
    {
        auto reply = parse_object(r.data);
        auto index = r.subject.substr(r.subject.rfind('.') + 1);
        if (reply.at("ok") != true)
            ++refused;
        else
        {
            const auto& context = reply.at("context").as_object();
            BOOST_TEST(context.at("request_id").as_string() == "r-" + index);
            BOOST_TEST(context.at("tenant_id").as_string() == tenant_name(std::stoi(index) % tenants));
        }
    }
    BOOST_TEST(got.size() == std::size_t(requests));
    BOOST_TEST(missing == 0);
    BOOST_TEST(duplicated == 0);
    BOOST_TEST(refused == 0);
    auto metrics = f.router->http_get("/metrics").body;
    int labelled = 0;
    int total = 0;
    std::string other_series;
    std::istringstream lines(metrics);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("router_tenant_decide_requests_total{", 0) == 0)
        {
            ++labelled;
            total += std::stoi(line.substr(line.rfind(' ') + 1));
            if (line.find(R"(tenant="_other")") != std::string::npos) other_series = line;
        }
    BOOST_TEST(labelled == 6, metrics);
    BOOST_TEST(total == requests);
    BOOST_TEST(other_series == R"(router_tenant_decide_requests_total{tenant="_other"} 1500)");
    BOOST_TEST(f.router->http_get("/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(twenty_thousand_unknown_tenants_leave_no_state_and_known_ones_stay_bounded)
{
    // 20 tenants with a policy and room for 8 of them; 20,000 tenants without one.
    constexpr int known = 20;
    constexpr int unknown = 20000;
    constexpr int known_every = 100; // one known tenant's request after every 100 unknown ones
    traffic_fixture f(known, env_list{{"BEAMLINE_ROUTER_MAX_TENANTS", "8"}});
    message_collector replies(*f.caller, "it.tenants.>");
    BOOST_TEST_REQUIRE(replies.status() == NATS_OK);
    int sent_known = 0;
    for (int i = 0; i < unknown; ++i)
    {
        BOOST_TEST_REQUIRE(f.caller->publish(decide_subject, decide_request("stranger-" + std::to_string(i), "u-" + std::to_string(i)),
                                             {}, "it.tenants.u." + std::to_string(i)) == NATS_OK);
        if (i % known_every == 0)
        {
            auto id = std::to_string(sent_known);
            BOOST_TEST_REQUIRE(f.caller->publish(decide_subject, decide_request(tenant_name(sent_known % known), "k-" + id),
                                                 {}, "it.tenants.k." + id) == NATS_OK);
            ++sent_known;
        }
    }
    BOOST_TEST_REQUIRE(f.caller->flush() == NATS_OK);
    auto got = replies.wait_for(unknown + sent_known, 60s);
    BOOST_TEST_REQUIRE(got.size() == std::size_t(unknown + sent_known));

    int policy_not_found = 0;
    int known_ok = 0;
    for (const auto& r : got)
    {
        auto reply = parse_object(r.data);
        auto index = r.subject.substr(r.subject.rfind('.') + 1);
        if (r.subject.rfind("it.tenants.u.", 0) == 0)
        {
            if (reply.at("ok") == false && reply.at("error").at("code").as_string() == "policy_not_found")
                ++policy_not_found;
            continue;
        }
        // The known tenants' answers are still right: their own request and tenant, a policy provider.
        BOOST_TEST_INFO("reply to " << r.subject << ": " << r.data);
        BOOST_TEST_REQUIRE(reply.at("ok") == true);
        const auto& context = reply.at("context").as_object();
        BOOST_TEST(context.at("request_id").as_string() == "k-" + index);
        BOOST_TEST(context.at("tenant_id").as_string() == tenant_name(std::stoi(index) % known));
        auto provider = reply.at("decision").at("provider_id").as_string();
        BOOST_TEST((provider == "openai" || provider == "anthropic"));
        ++known_ok;
    }
    BOOST_TEST(policy_not_found == unknown);
    BOOST_TEST(known_ok == sent_known);

    auto status = json::parse(f.router->http_get("/v1/status").body).as_object();
    BOOST_TEST_INFO("/v1/status: " << json::serialize(status));
    BOOST_TEST(status.at("tenants").to_number<int>() <= 8);
    BOOST_TEST(status.at("tenant_evictions").to_number<int>() >= known - 8);
    auto metrics = f.router->http_get("/metrics").body;
    BOOST_TEST(metrics.find("\nrouter_tenants " + std::to_string(status.at("tenants").to_number<int>()) + "\n") !=
                   std::string::npos,
               metrics);
    BOOST_TEST(f.router->http_get("/healthz").status == 200);
}

BOOST_AUTO_TEST_CASE(two_daemons_in_the_queue_group_handle_each_request_once)
{
    traffic_fixture f(2);
    router_process second(f.env());
    message_collector replies(*f.caller, "it.pair.>");
    BOOST_TEST_REQUIRE(replies.status() == NATS_OK);
    constexpr int requests = 500;
    for (int i = 0; i < requests; ++i)
        BOOST_TEST_REQUIRE(f.caller->publish(decide_subject,
                                             decide_request(tenant_name(i % 2), "r-" + std::to_string(i)), {},
                                             "it.pair." + std::to_string(i)) == NATS_OK);
    replies.wait_for(requests, 20s);
    BOOST_TEST(f.caller->flush() == NATS_OK);
    std::this_thread::sleep_for(200ms);
    auto counts = count_by_index(replies.messages());
    BOOST_TEST(counts.size() == std::size_t(requests));
    BOOST_TEST(replies.messages().size() == std::size_t(requests));

    // Both daemons took a share (nats-server picks a queue member at random for each message).
    auto served = [](const router_process& r)
    {
        auto m = r.http_get("/metrics").body;
        const std::string series = R"(router_decide_requests_total{outcome="ok",code="none"} )";
        auto at = m.find(series);
        return at == std::string::npos ? 0 : std::stoi(m.substr(at + series.size()));
    };
    int first = served(*f.router);
    int other = served(second);
    BOOST_TEST(first + other == requests);
    BOOST_TEST(first > 0);
    BOOST_TEST(other > 0);
}

BOOST_AUTO_TEST_CASE(hostile_input_gets_a_reply_each_and_the_daemon_stays_healthy)
{
    traffic_fixture f(1);
    auto ask = [&](const std::string& body) { return f.ask_json(body); };
    auto expect_schema_error = [](const json::object& reply, const std::string& cause)
    {
        BOOST_TEST(reply.at("ok") == false);
        const auto& error = reply.at("error").as_object();
        BOOST_TEST(error.at("code").as_string() == "invalid_request");
        BOOST_TEST(error.at("intake_error_code").as_string() == "SCHEMA_VALIDATION_FAILED");
        std::string message(error.at("message").as_string());
        BOOST_TEST(message.find(cause) != std::string::npos,
                   "message \"" << message << "\" should mention " << cause);
    };

    expect_schema_error(ask(R"({"version":"1","request_id":"r-1",)"), "JSON");
    expect_schema_error(ask("[1,2,3]"), "object");
    expect_schema_error(ask(std::string(2u << 20, 'a')), "bytes");
    std::string garbage;
    for (int i = 0; i < 4096; ++i)
        garbage.push_back(static_cast<char>((i * 131 + 7) % 256));
    expect_schema_error(ask(garbage), "JSON");
    expect_schema_error(ask(std::string(100, '[') + std::string(100, ']')), "JSON");
    expect_schema_error(ask(""), "JSON");

    // Without a reply-to, the reply goes to the decide subject's ".reply".
    message_collector fallback(*f.caller, decide_subject + ".reply");
    BOOST_TEST_REQUIRE(fallback.status() == NATS_OK);
    BOOST_TEST_REQUIRE(f.caller->flush() == NATS_OK);
    BOOST_TEST(f.caller->publish(decide_subject, decide_request(tenant_name(0), "r-no-reply")) == NATS_OK);
    auto got = fallback.wait_for(1, 5s);
    BOOST_TEST_REQUIRE(got.size() == 1u);
    auto reply = parse_object(got[0].data);
    BOOST_TEST(reply.at("ok") == true);
    BOOST_TEST(reply.at("context").at("request_id").as_string() == "r-no-reply");

    BOOST_TEST(f.router->http_get("/healthz").status == 200);
    BOOST_TEST(ask(decide_request(tenant_name(0), "r-after")).at("ok") == true);
}

BOOST_AUTO_TEST_CASE(sigterm_during_a_stream_answers_everything_received_and_exits_zero)
{
    traffic_fixture f(4, env_list{{"BEAMLINE_ROUTER_TENANT_INFLIGHT_MAX", "100000"},
                                  {"BEAMLINE_NATS_NAME", "router-under-test"}});
    message_collector replies(*f.caller, "it.stream.>");
    BOOST_TEST_REQUIRE(replies.status() == NATS_OK);

    // The publisher confirms each batch with a flush (a PING/PONG round trip): once it returns,
    // nats-server has routed the batch to the router's subscription.
    std::atomic<int> confirmed{0};
    std::atomic<bool> stop{false};
    std::thread publisher(
        [&]
        {
            int next = 0;
            while (!stop.load() && next < 200000)
            {
                for (int k = 0; k < 20; ++k, ++next)
                {
                    auto id = std::to_string(next);
                    f.caller->publish(decide_subject, decide_request(tenant_name(next % 4), "r-" + id), {},
                                      "it.stream." + id);
                }
                if (f.caller->flush() == NATS_OK) confirmed.store(next);
                std::this_thread::sleep_for(2ms);
            }
        });
    BOOST_TEST(eventually([&] { return replies.messages().size() >= 500; }, 15s));
    int confirmed_before_signal = confirmed.load();
    f.router->signal(SIGTERM);
    auto exit_code = f.router->wait_exit(20s);
    stop.store(true);
    publisher.join();
    BOOST_TEST_REQUIRE(exit_code.has_value(), "the daemon did not exit after SIGTERM");
    BOOST_TEST(*exit_code == 0);

    BOOST_TEST(f.caller->flush() == NATS_OK);
    std::this_thread::sleep_for(200ms);
    auto counts = count_by_index(replies.messages());
    int missing = 0;
    int duplicated = 0;
    std::string first_missing;
    for (int i = 0; i < confirmed_before_signal; ++i)
    {
        auto it = counts.find(std::to_string(i));
        if (it == counts.end())
        {
            if (first_missing.empty()) first_missing = std::to_string(i);
            ++missing;
        }
    }
    for (const auto& [index, n] : counts)
        if (n > 1) ++duplicated;
    BOOST_TEST_MESSAGE("requests confirmed before SIGTERM: " << confirmed_before_signal
                                                             << ", answered: " << counts.size());
    // nats-server's count of the messages it delivered to the router's connection: each of them was
    // a decide request the router received, and each must have been answered.
    auto delivered = delivered_to(f.server, "router-under-test");
    BOOST_TEST_REQUIRE(delivered.has_value(), "the router's closed connection is not in /connz");
    BOOST_TEST(counts.size() == *delivered,
               counts.size() << " requests answered of " << *delivered << " delivered to the router");
    BOOST_TEST(missing == 0, missing << " requests delivered before SIGTERM got no reply (first: r-"
                                     << first_missing << ")");
    BOOST_TEST(duplicated == 0);
}

BOOST_AUTO_TEST_SUITE_END()
