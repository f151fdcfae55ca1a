// The deployment checklist measured end to end: the daemon on a mutual-TLS nats-server with
// JetStream, libnats as gateway and execution tier sending a mix the test knows exactly (trace ids
// carried by header, by payload and not at all; the version by header, payload and subject;
// idempotent first requests, replays and a conflict; invalid requests; results correlated by
// assignment_id, request_id or both; a NATS restart and a stale connection). Every metric of the
// checklist on /metrics has the value the test caused, and `beamline_router report --json` writes
// the same figures and the verdicts they imply.
//
// One figure is not the test's to fix: how many connection attempts were refused while the
// server was down depends on how long it took to come back, so the test requires at least one and
// the report's figure equal to the scrape.
#include "beamline/metrics/exposition_reader.hpp"
#include "promtool.hpp"
#include "router_setup.hpp"
#include "shell.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

using namespace beamline::test;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace fs = std::filesystem;
using label_match = std::vector<std::pair<std::string_view, std::string_view>>;

namespace
{

const std::string results_subject = "caf.exec.result.v1";

struct report_fixture : router_setup
{
    report_fixture()
        : router_setup(nats_server_options{.tls = tls_mode::mutual, .jetstream = true},
                       [](const policy_dir& dir) { dir.write("acme", "default", two_provider_policy); },
                       {
                           // A stale connection is noticed after 3 unanswered PINGs a second apart:
                           // only a frozen server is that silent.
                           {"BEAMLINE_NATS_PING_INTERVAL_MS", "1000"},
                           {"BEAMLINE_NATS_MAX_PINGS_OUT", "3"},
                           {"BEAMLINE_NATS_RECONNECT_WAIT_MS", "200"},
                           {"BEAMLINE_NATS_MAX_RECONNECT", "-1"},
                           // Backpressure is not under test here: marks no test traffic reaches,
                           // so its figures are the zeros the test caused.
                           {"BEAMLINE_BACKPRESSURE_LATENCY_P95_HIGH_MS", "60000"},
                           {"BEAMLINE_BACKPRESSURE_LATENCY_P95_LOW_MS", "30000"},
                       })
    {
    }

    beamline::metrics::exposition scrape() const
    {
        auto r = router->http_get("/metrics");
        BOOST_TEST_REQUIRE(r.status == 200, r.error);
        beamline::metrics::exposition e;
        auto error = beamline::metrics::parse_exposition(r.body, e);
        BOOST_TEST_REQUIRE(!error, "line " << error->line << ": " << error->message);
        return e;
    }

    /// A series' value; fails the test when the router does not export it.
    double metric(const std::string& name, const label_match& match = {}) const
    {
        auto v = scrape().sum(name, match);
        BOOST_TEST_REQUIRE(v.has_value(), name << " is not exported");
        return *v;
    }

    bool metric_reaches(const std::string& name, const label_match& match, double at_least,
                        std::chrono::milliseconds limit = 30s) const
    {
        return eventually([&] { return scrape().sum(name, match).value_or(0) >= at_least; }, limit);
    }

    void decide_ok(const std::string& body, const header_list& headers = {})
    {
        auto reply = ask_json(body, headers);
        BOOST_TEST_REQUIRE(reply.at("ok") == true);
    }

    void decide_refused(const std::string& body, const header_list& headers = {})
    {
        auto reply = ask_json(body, headers);
        BOOST_TEST_REQUIRE(reply.at("ok") == false);
    }

    /// Stores one ExecResult in the results stream: a request, so the PubAck says it is stored
    /// (before the router has made the stream nobody answers, and the test asks again).
    void store_result(const std::string& ids)
    {
        const std::string body = R"({"version":"1",)" + ids +
                                 R"(,"tenant_id":"acme","provider_id":"openai","status":"success","latency_ms":20})";
        bool stored = eventually(
            [&] {
                auto ack = caller->request(results_subject, body, 2s);
                return ack && ack->data.find("\"seq\"") != std::string::npos;
            },
            30s);
        BOOST_TEST_REQUIRE(stored, "no PubAck for " << body);
    }

    /// True once the server holds no result for the router's consumer: none pending and every
    /// ack received (an ack still in the router's buffer when NATS dies would bring a redelivery).
    bool results_settled()
    {
        auto info = caller->request("$JS.API.CONSUMER.INFO.BEAMLINE_RESULTS.router-results", "", 2s);
        if (!info) return false;
        auto v = json::parse(info->data).as_object();
        return v.contains("num_ack_pending") && v.at("num_ack_pending").to_number<double>() == 0 &&
               v.at("num_pending").to_number<double>() == 0;
    }

    /// Waits until the router is connected again after its `n`-th reconnect.
    void wait_reconnected(double n)
    {
        BOOST_TEST_REQUIRE(metric_reaches("router_nats_reconnects_total", {}, n));
        BOOST_TEST_REQUIRE(eventually([&] { return metric("router_nats_connected") == 1; }, 30s));
        BOOST_TEST_REQUIRE(caller->wait_connected(30s));
    }
};

const json::object& figure(const json::object& report, const std::string& key)
{
    const auto& figures = report.at("figures").as_object();
    BOOST_TEST_REQUIRE(figures.contains(key), "the report has no figure " << key);
    return figures.at(key).as_object();
}

double figure_value(const json::object& report, const std::string& key)
{
    const auto& v = figure(report, key).at("value");
    BOOST_TEST_REQUIRE(v.is_number(), key << " has no value: " << json::serialize(figure(report, key)));
    return v.to_number<double>();
}

std::string verdict(const json::object& report, const std::string& prefix)
{
    for (const auto& v : report.at("verdicts").as_array())
        if (std::string_view(v.at("criterion").as_string()).rfind(prefix, 0) == 0)
            return std::string(v.at("result").as_string());
    BOOST_FAIL("no verdict " << prefix);
    return {};
}

std::string read_text(const fs::path& p)
{
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

BOOST_AUTO_TEST_SUITE(router_report)

BOOST_AUTO_TEST_CASE(a_known_mix_of_traffic_reads_back_exactly_on_metrics_and_in_the_report)
{
    report_fixture f;
    const std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    auto body = [](const std::string& id, const std::string& extra = {}, bool version = true) {
        std::string b = std::string("{") + (version ? R"("version":"1",)" : "") + R"("request_id":")" + id +
                        R"(","tenant_id":"acme","task":{"type":"chat","payload":{"prompt":"hi"}})";
        if (!extra.empty()) b += "," + extra;
        return b + "}";
    };

    // trace_id by the traceparent header (3), version in the payload.
    for (int i = 0; i < 3; ++i)
        f.decide_ok(body("tp-" + std::to_string(i)), {{"traceparent", traceparent}});
    // trace_id in the payload (2), version by header only.
    for (int i = 0; i < 2; ++i)
        f.decide_ok(body("tr-" + std::to_string(i), R"("trace_id":"0af7651916cd43dd8448eb211c80319c")", false),
                    {{"version", "1"}});
    // Neither trace nor version given (2): the version is the subject's v1.
    for (int i = 0; i < 2; ++i)
        f.decide_ok(body("bare-" + std::to_string(i), {}, false));
    // An unreadable traceparent is no trace id (1).
    f.decide_ok(body("badtp"), {{"traceparent", "not-a-traceparent"}});
    // Idempotency: k1 decided, replayed, then reused for another task (conflict); k2 decided.
    f.decide_ok(body("k1-a", R"("idempotency_key":"k1")"));
    f.decide_ok(body("k1-b", R"("idempotency_key":"k1")"));
    f.decide_refused(body("k1-c", R"("idempotency_key":"k1","policy_id":"other")"));
    f.decide_ok(body("k2-a", R"("idempotency_key":"k2")"));
    // Invalid requests (3), refused at intake: they count as errors, not in the sources.
    f.decide_refused("this is not JSON");
    f.decide_refused(R"({"version":"1","request_id":"no-tenant","task":{"type":"chat","payload":{}}})");
    f.decide_refused(body("v2", {}, false), {{"version", "2"}});

    // Results: 2 by assignment_id only, 1 by request_id only, 3 by both.
    f.store_result(R"("assignment_id":"as-1")");
    f.store_result(R"("assignment_id":"as-2")");
    f.store_result(R"("request_id":"rq-1")");
    for (int i = 0; i < 3; ++i)
        f.store_result(R"("assignment_id":"both-)" + std::to_string(i) + R"(","request_id":"both-rq")");
    BOOST_TEST_REQUIRE(f.metric_reaches("router_results_total", {{"outcome", "acked"}}, 6));
    BOOST_TEST_REQUIRE(eventually([&] { return f.results_settled(); }, 30s));

    // A NATS restart: attempts are refused while it is down, then the router reconnects. A
    // graceful stop, so JetStream keeps the consumer's acks (after SIGKILL it may redeliver).
    f.server.stop();
    BOOST_TEST_REQUIRE(f.metric_reaches("router_nats_connection_failures_total", {{"reason", "refused"}}, 1));
    f.server.start();
    f.wait_reconnected(1);
    // A frozen server keeps the socket and answers nothing: the connection goes stale.
    f.server.freeze();
    const bool went_stale = f.metric_reaches("router_nats_connection_failures_total", {{"reason", "stale"}}, 1);
    f.server.thaw();
    BOOST_TEST_REQUIRE(went_stale);
    f.wait_reconnected(2);

    // --- /metrics: exactly what the test caused -------------------------------------------
    auto sources = [&](const char* field, const char* source) {
        return f.metric("router_correlation_source_total", {{"field", field}, {"source", source}});
    };
    BOOST_TEST(sources("trace_id", "header") == 3);
    BOOST_TEST(sources("trace_id", "payload") == 2);
    BOOST_TEST(sources("trace_id", "absent") == 7); // 2 bare, 1 bad traceparent, 4 idempotent
    BOOST_TEST(sources("tenant_id", "payload") == 12);
    BOOST_TEST(sources("version", "header") == 2);
    BOOST_TEST(sources("version", "payload") == 8);
    BOOST_TEST(sources("version", "subject") == 2);
    BOOST_TEST(f.metric("router_correlation_source_total") == 36); // 12 accepted × 3 fields

    BOOST_TEST(f.metric("router_idempotency_hits_total") == 1);
    BOOST_TEST(f.metric("router_idempotency_misses_total") == 2);
    BOOST_TEST(f.metric("router_idempotency_conflicts_total") == 1);
    BOOST_TEST(f.metric("router_idempotency_entries") == 2);

    BOOST_TEST(f.metric("router_results_correlation_total", {{"keys", "assignment_id"}}) == 2);
    BOOST_TEST(f.metric("router_results_correlation_total", {{"keys", "request_id"}}) == 1);
    BOOST_TEST(f.metric("router_results_correlation_total", {{"keys", "both"}}) == 3);

    auto failures = [&](const char* reason) {
        return f.metric("router_nats_connection_failures_total", {{"reason", reason}});
    };
    const double refused = failures("refused");
    BOOST_TEST(refused >= 1);
    BOOST_TEST(failures("stale") == 1);
    BOOST_TEST(failures("tls") == 0);
    BOOST_TEST(failures("auth") == 0);
    BOOST_TEST(failures("other") == 0);
    const double timeouts = failures("timeout"); // attempts on the frozen server: as many as it took
    BOOST_TEST(f.metric("router_nats_reconnects_total") == 2);

    BOOST_TEST(f.metric("router_backpressure_activations_total") == 0);
    BOOST_TEST(f.metric("router_backpressure_active_seconds_total") == 0);
    BOOST_TEST(f.metric("router_backpressure_warning_seconds_total") == 0);
    BOOST_TEST(f.metric("router_backpressure_recovery_seconds_count") == 0);

    BOOST_TEST(f.metric("router_results_redeliveries_total") == 0);
    BOOST_TEST(f.metric("router_results_maxdeliver_exhausted_total") == 0);
    BOOST_TEST_REQUIRE(eventually([&] { return f.metric("router_jetstream_consumer_pending") == 0; }, 30s));

    BOOST_TEST(f.metric("router_decide_requests_total") == 15);
    BOOST_TEST(f.metric("router_decide_requests_total", {{"outcome", "error"}}) == 4);
    {
        // Every family this test filled is one promtool accepts.
        auto body_text = f.router->http_get("/metrics").body;
        BOOST_TEST_REQUIRE(promtool_present(), "promtool (package prometheus) is needed to lint /metrics");
        auto check = promtool_check_metrics(body_text);
        BOOST_TEST(check.status == 0, check.output);
    }

    // --- report --json: the same figures, and the verdicts they imply ---------------------
    auto artifacts = f.router->dir() / "artifacts";
    auto run = run_shell("ARTIFACTS_DIR='" + artifacts.string() + "' BEAMLINE_HTTP_LISTEN=" + f.router->http_listen() +
                         " BEAMLINE_NATS_MONITOR_URL=http://127.0.0.1:" + std::to_string(f.server.monitor_port()) +
                         " '" + BEAMLINE_BINARY_DIR + "/beamline_router' report --json");
    BOOST_TEST_MESSAGE(run.output); // the table an operator reads (--log_level=message)
    BOOST_TEST_INFO(run.output);
    BOOST_TEST(run.exit_code == 1); // criteria fail: the error rate and the reconnects
    fs::path written;
    for (const auto& e : fs::directory_iterator(artifacts))
        if (e.path().filename().string().rfind("report_", 0) == 0) written = e.path();
    BOOST_TEST_REQUIRE(!written.empty(), "no report_*.json in " << artifacts);
    auto report = json::parse(read_text(written)).as_object();
    BOOST_TEST_INFO(json::serialize(report));

    BOOST_TEST(figure_value(report, "trace_id_from_header") == 3);
    BOOST_TEST(figure_value(report, "trace_id_from_payload") == 2);
    BOOST_TEST(figure_value(report, "trace_id_from_absent") == 7);
    BOOST_TEST(figure_value(report, "tenant_id_from_payload") == 12);
    BOOST_TEST(figure_value(report, "version_from_header") == 2);
    BOOST_TEST(figure_value(report, "version_from_payload") == 8);
    BOOST_TEST(figure_value(report, "version_from_subject") == 2);
    BOOST_TEST(!report.at("figures").as_object().contains("tenant_id_from_header")); // not a decide source

    BOOST_TEST(figure_value(report, "idempotency_hits") == 1);
    BOOST_TEST(figure_value(report, "idempotency_misses") == 2);
    BOOST_TEST(figure_value(report, "idempotency_conflicts") == 1);
    BOOST_TEST(figure_value(report, "idempotency_entries") == 2);
    BOOST_TEST(figure_value(report, "idempotency_duplicate_pct") == 50); // (1 hit + 1 conflict) of 4

    BOOST_TEST(figure_value(report, "results_keyed_by_assignment_id") == 2);
    BOOST_TEST(figure_value(report, "results_keyed_by_request_id") == 1);
    BOOST_TEST(figure_value(report, "results_keyed_by_both") == 3);

    BOOST_TEST(figure_value(report, "nats_connection_failures_refused") == refused);
    BOOST_TEST(figure_value(report, "nats_connection_failures_stale") == 1);
    BOOST_TEST(figure_value(report, "nats_connection_failures_tls") == 0);
    BOOST_TEST(figure_value(report, "nats_connection_failures_auth") == 0);
    BOOST_TEST(figure_value(report, "nats_connection_failures_other") == 0);
    BOOST_TEST(figure_value(report, "nats_connection_failures_timeout") == timeouts);
    BOOST_TEST(figure_value(report, "nats_connection_failures") == refused + 1 + timeouts);

    BOOST_TEST(figure_value(report, "backpressure_activations") == 0);
    BOOST_TEST(figure_value(report, "backpressure_active_pct") == 0);
    BOOST_TEST(figure_value(report, "backpressure_warning_pct") == 0);
    BOOST_TEST(figure(report, "backpressure_recovery_p95_s").at("value").is_null());
    BOOST_TEST(figure_value(report, "consumer_pending") == 0);
    BOOST_TEST(figure_value(report, "redeliveries") == 0);
    BOOST_TEST(figure_value(report, "maxdeliver_exhausted") == 0);

    BOOST_TEST(figure_value(report, "error_rate_pct") == 100.0 * 4 / 15, boost::test_tools::tolerance(1e-9));
    const auto& top = report.at("top_errors").as_array();
    BOOST_TEST_REQUIRE(top.size() == 1u);
    BOOST_TEST(top[0].at("code").as_string() == "invalid_request");
    BOOST_TEST(top[0].at("requests").to_number<double>() == 4);

    BOOST_TEST(verdict(report, "Error rate") == "FAIL");
    BOOST_TEST(verdict(report, "NATS reconnects") == "FAIL"); // 2 in well under a day
    BOOST_TEST(verdict(report, "Backpressure active") == "PASS");
    BOOST_TEST(report.at("pass") == false);
}

BOOST_AUTO_TEST_SUITE_END()
