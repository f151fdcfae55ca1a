// Prometheus for real: the Debian prometheus server, run with the shipped scrape configuration and
// alert rules (config/prometheus/), scrapes a running router over its HTTP port. Through
// Prometheus's query API the test checks the target is up, that router_decide_requests_total holds
// exactly the decide requests the test sent, that every alert rule loads and evaluates, and that
// every expression of the Grafana dashboard (config/grafana/) parses and names only metrics the
// router exports or the names docs/OPERATIONS.md reserves for features still to come, and that
// the NATS-disconnected and router-down alerts turn pending when NATS and then the router stop.
#include "prometheus_server.hpp"
#include "router_setup.hpp"
#include "shell.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <csignal>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace beamline::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace
{

// Series that later features add, under the names docs/OPERATIONS.md "Monitoring" gives them.
const std::set<std::string> names_reserved_for_later = {
    "router_backpressure_state",          "router_backpressure_rejections_total",
    "router_breaker_state",               "router_jetstream_consumer_pending",
    "router_jetstream_consumer_ack_pending", "router_dead_letters_total",
};

const std::set<std::string> expected_alerts = {
    "BeamlineRouterDown",           "BeamlineRouterNatsDisconnected",     "BeamlineRouterBackpressureActive",
    "BeamlineRouterBreakerOpen",    "BeamlineRouterErrorRatio",           "BeamlineRouterDecideLatencyHigh",
    "BeamlineRouterJetStreamBacklogGrowing", "BeamlineRouterDeadLetters",
};

std::string read_file(const std::string& path)
{
    std::ifstream in(path);
    BOOST_TEST_REQUIRE(in.good(), "cannot read " << path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void replace_once(std::string& text, const std::string& from, const std::string& to)
{
    const auto at = text.find(from);
    BOOST_TEST_REQUIRE(at != std::string::npos, "config/prometheus/prometheus.yml no longer has: " << from);
    text.replace(at, from.size(), to);
}

// The shipped scrape configuration, pointed at the test's router, scraping and evaluating every second.
std::string scrape_config_for(std::uint16_t router_port)
{
    auto text = read_file(source_path("config/prometheus/prometheus.yml"));
    replace_once(text, "scrape_interval: 15s", "scrape_interval: 1s");
    replace_once(text, "evaluation_interval: 15s", "evaluation_interval: 1s");
    replace_once(text, "scrape_timeout: 5s", "scrape_timeout: 1s");
    replace_once(text, "- alerts.yml", "- " + source_path("config/prometheus/alerts.yml"));
    replace_once(text, "\"127.0.0.1:8080\"", "\"127.0.0.1:" + std::to_string(router_port) + "\"");
    return text;
}

double unix_now()
{
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Every metric family the router exports now, with the _bucket/_sum/_count series of histograms.
std::set<std::string> exported_names(const std::string& exposition)
{
    std::set<std::string> names;
    std::istringstream lines(exposition);
    std::string line;
    while (std::getline(lines, line))
    {
        std::istringstream words(line);
        std::string hash, keyword, name, type;
        if (!(words >> hash >> keyword >> name >> type) || hash != "#" || keyword != "TYPE") continue;
        names.insert(name);
        if (type == "histogram")
            for (const char* suffix : {"_bucket", "_sum", "_count"})
                names.insert(name + suffix);
    }
    return names;
}

// The router_* and process_* names an expression refers to.
std::set<std::string> metric_names_in(const std::string& expression)
{
    static const std::regex name(R"(\b(?:router|process)_[a-z0-9_]+\b)");
    std::set<std::string> names;
    for (auto it = std::sregex_iterator(expression.begin(), expression.end(), name); it != std::sregex_iterator(); ++it)
        names.insert(it->str());
    return names;
}

void collect_expressions(const json::value& v, std::vector<std::string>& out)
{
    if (v.is_object())
    {
        for (const auto& [key, member] : v.as_object())
        {
            if (key == "expr" && member.is_string()) out.emplace_back(member.as_string());
            else collect_expressions(member, out);
        }
    }
    else if (v.is_array())
    {
        for (const auto& element : v.as_array())
            collect_expressions(element, out);
    }
}

// A dashboard expression as Grafana sends it: its variables replaced by what they expand to.
std::string expand_grafana_variables(std::string expression)
{
    for (const auto& [variable, value] : {std::pair<std::string, std::string>{"$__rate_interval", "1m"},
                                          {"$__interval", "15s"}, {"$__range", "1h"}, {"$instance", ".*"}})
    {
        for (auto at = expression.find(variable); at != std::string::npos; at = expression.find(variable, at))
            expression.replace(at, variable.size(), value);
    }
    return expression;
}

struct scrape_fixture
{
    scrape_fixture()
        : deployment(nats_server_options{.tls = tls_mode::mutual},
                     [](const policy_dir& dir) { dir.write("acme", "default", two_provider_policy); }),
          prometheus(scrape_config_for(deployment.router->http_port()))
    {
        const auto metrics = deployment.router->http_get("/metrics");
        BOOST_TEST_REQUIRE(metrics.status == 200);
        exported = exported_names(metrics.body);
        BOOST_TEST_REQUIRE(exported.count("router_decide_requests_total") == 1);
    }

    // Every name in `expression` is exported now or reserved for a later feature.
    void check_names(const std::string& where, const std::string& expression) const
    {
        for (const auto& name : metric_names_in(expression))
        {
            BOOST_TEST_INFO(where << ": " << expression);
            BOOST_TEST((exported.count(name) == 1 || names_reserved_for_later.count(name) == 1),
                       name << " is neither exported by the router nor reserved in docs/OPERATIONS.md");
        }
    }

    // The expression parses: Prometheus answers a parse error with HTTP 400.
    void check_parses(const std::string& where, const std::string& expression) const
    {
        const auto reply = prometheus.query(expression);
        BOOST_TEST(reply.status == 200, where << ": " << expression << " -> HTTP " << reply.status << " " << reply.body
                                              << reply.error);
    }

    router_setup deployment;
    prometheus_server prometheus;
    std::set<std::string> exported;
};

} // namespace

BOOST_AUTO_TEST_SUITE(prometheus_scrape)

BOOST_AUTO_TEST_CASE(prometheus_counts_the_decide_requests_and_understands_every_rule_and_panel)
{
    BOOST_TEST_REQUIRE(prometheus_present(), "prometheus is not installed (scripts/setup.sh --deps)");
    scrape_fixture f;
    auto& prom = f.prometheus;

    BOOST_TEST_REQUIRE(eventually([&] { return single_value(prom.query_result(R"(up{job="beamline-router"})")) == 1; },
                                  30s),
                       "the router target never became up; targets: " << prom.get("/api/v1/targets").body);

    for (int i = 0; i < 5; ++i)
    {
        auto reply = f.deployment.ask_json(decide_request("acme", "scrape-ok-" + std::to_string(i), R"("policy_id":"default")"));
        BOOST_TEST(reply.at("ok") == true);
    }
    for (int i = 0; i < 2; ++i)
    {
        auto reply = f.deployment.ask_json(decide_request("acme", "scrape-missing-" + std::to_string(i), R"("policy_id":"absent")"));
        BOOST_TEST(reply.at("error").at("code") == "policy_not_found");
    }
    // Every reply is in; a scrape that starts after this moment sees all seven requests counted.
    const double replied_at = unix_now();
    BOOST_TEST_REQUIRE(
        eventually([&] { return single_value(prom.query_result(R"(timestamp(up{job="beamline-router"}))")) > replied_at; },
                   30s),
        "no scrape after the requests within 30 s");
    BOOST_TEST(single_value(prom.query_result("sum(router_decide_requests_total)")) == 7);
    BOOST_TEST(single_value(prom.query_result(R"(sum(router_decide_requests_total{outcome="ok"}))")) == 5);
    BOOST_TEST(single_value(prom.query_result(
                   R"(sum(router_decide_requests_total{outcome="error",code="policy_not_found"}))")) == 2);
    BOOST_TEST(single_value(prom.query_result(R"(router_nats_connected{job="beamline-router"})")) == 1);

    // The alert rules: all loaded from alerts.yml, evaluated without error, each expression valid.
    json::array rules;
    BOOST_TEST_REQUIRE(eventually(
        [&] {
            rules.clear();
            const auto body = json::parse(prom.get("/api/v1/rules?type=alert").body);
            for (const auto& group : body.at("data").at("groups").as_array())
                for (const auto& rule : group.at("rules").as_array())
                    rules.push_back(rule);
            for (const auto& rule : rules)
                if (rule.at("health") == "unknown") return false; // not evaluated yet
            return !rules.empty();
        },
        30s));
    std::set<std::string> names;
    for (const auto& rule : rules)
    {
        const std::string name(rule.at("name").as_string());
        const std::string expression(rule.at("query").as_string());
        names.insert(name);
        BOOST_TEST(rule.at("health") == "ok", name << ": " << json::serialize(rule));
        f.check_parses(name, expression);
        f.check_names(name, expression);
    }
    BOOST_TEST(names == expected_alerts, "alerts.yml defines other alerts than this test (and alerts_test.yml) expect");

    // The dashboard: every target expression, its variables expanded, parses and names known series.
    const auto dashboard = json::parse(read_file(source_path("config/grafana/beamline-router.json")));
    std::vector<std::string> expressions;
    collect_expressions(dashboard, expressions);
    BOOST_TEST_REQUIRE(expressions.size() >= 20u);
    for (const auto& expression : expressions)
    {
        const auto expanded = expand_grafana_variables(expression);
        BOOST_TEST(expanded.find('$') == std::string::npos, "a Grafana variable this test does not expand: " << expression);
        f.check_parses("dashboard", expanded);
        f.check_names("dashboard", expanded);
    }

    // The parse check can fail: an unbalanced expression is refused with 400.
    BOOST_TEST(prom.query("sum(rate(router_decide_requests_total[5m])").status == 400);

    // Two alerts end to end, against what the scrape really sees: NATS goes away, then the router.
    // They turn pending (their `for:` is a minute, longer than this test waits).
    const auto pending = [&](const std::string& alert) {
        return !prom.query_result(R"(ALERTS{alertstate="pending",alertname=")" + alert + "\"}").empty();
    };
    BOOST_TEST(!pending("BeamlineRouterNatsDisconnected"));
    f.deployment.caller.reset();
    f.deployment.server.stop();
    BOOST_TEST(eventually([&] { return pending("BeamlineRouterNatsDisconnected"); }, 30s),
               "NATS stopped, but the alert did not turn pending");
    BOOST_TEST(!pending("BeamlineRouterDown"));
    f.deployment.router->signal(SIGTERM);
    BOOST_TEST(f.deployment.router->wait_exit(20s).value_or(-1) == 0);
    BOOST_TEST(eventually([&] { return pending("BeamlineRouterDown"); }, 30s),
               "the router stopped, but the alert did not turn pending");
}

BOOST_AUTO_TEST_SUITE_END()
