#include "beamline/app/deployment_report.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <string>

using namespace beamline::app;
namespace json = boost::json;
using beamline::metrics::exposition;
using beamline::metrics::parse_exposition;

namespace
{

exposition read(const std::string& text)
{
    exposition e;
    auto err = parse_exposition(text, e);
    BOOST_TEST_REQUIRE(!err.has_value());
    return e;
}

/// A router that served `ok` good and `bad` failed requests, 90% of them under 1 ms.
std::string metrics_text(int ok, int bad, int reconnects, double start_s, double bp_active_s = -1)
{
    int total = ok + bad;
    std::string t;
    t += "router_decide_requests_total{outcome=\"ok\",code=\"none\"} " + std::to_string(ok) + "\n";
    t += "router_decide_requests_total{outcome=\"error\",code=\"invalid_request\"} " + std::to_string(bad) + "\n";
    t += "router_decide_requests_total{outcome=\"error\",code=\"rate_limited\"} 0\n";
    t += "router_decide_latency_seconds_bucket{le=\"0.001\"} " + std::to_string(total * 9 / 10) + "\n";
    t += "router_decide_latency_seconds_bucket{le=\"0.01\"} " + std::to_string(total) + "\n";
    t += "router_decide_latency_seconds_bucket{le=\"+Inf\"} " + std::to_string(total) + "\n";
    t += "router_nats_reconnects_total " + std::to_string(reconnects) + "\n";
    t += "process_resident_memory_bytes 20971520\n";
    t += "process_start_time_seconds " + std::to_string(start_s) + "\n";
    if (bp_active_s >= 0) t += "router_backpressure_active_seconds_total " + std::to_string(bp_active_s) + "\n";
    return t;
}

const report_verdict& verdict(const deployment_report& r, std::string_view prefix)
{
    for (const auto& v : r.verdicts)
        if (v.criterion.rfind(prefix, 0) == 0) return v;
    BOOST_FAIL("no verdict " << prefix);
    return r.verdicts.front();
}

} // namespace

BOOST_AUTO_TEST_SUITE(deployment_report_suite)

BOOST_AUTO_TEST_CASE(over_the_uptime_counters_become_rates_and_verdicts)
{
    report_inputs in;
    in.metrics = read(metrics_text(99'990, 10, 1, 1000.0, 0));
    in.now_unix_s = 1000.0 + 86'400;
    in.status = json::parse(R"({"uptime_s":86400})");
    auto r = build_report(in);
    BOOST_TEST(r.window == "uptime");
    BOOST_TEST(r.window_s == 86400.0);
    BOOST_TEST(*r.figure("rps")->value == 100'000.0 / 86'400, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(*r.figure("error_rate_pct")->value == 0.01, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(*r.figure("rss_mb")->value == 20.0);
    BOOST_TEST(*r.figure("nats_reconnects_per_day")->value == 1.0);
    BOOST_TEST(*r.figure("p95_ms")->value == 5.5, boost::test_tools::tolerance(1e-6)); // halfway into 1..10 ms
    BOOST_TEST(*r.figure("backpressure_active_pct")->value == 0.0);
    BOOST_TEST((verdict(r, "Error rate").result == verdict_result::pass));
    BOOST_TEST((verdict(r, "NATS reconnects").result == verdict_result::pass));
    BOOST_TEST((verdict(r, "Backpressure").result == verdict_result::pass));
    BOOST_TEST((verdict(r, "Uptime").result == verdict_result::pass));
    BOOST_TEST((verdict(r, "Performance").result == verdict_result::unknown)); // no baseline given
    BOOST_TEST(r.exit_code() == 0);
    BOOST_TEST_REQUIRE(r.top_errors.size() == 1u); // rate_limited had none
    BOOST_TEST(r.top_errors[0].first == "invalid_request");
}

BOOST_AUTO_TEST_CASE(two_readings_judge_only_the_interval)
{
    report_inputs in;
    in.earlier = read(metrics_text(1000, 0, 0, 0));
    in.metrics = read(metrics_text(1000 + 600, 400, 7, 0, 30)); // 1000 new requests, 40% errors
    in.interval_s = 600;
    in.now_unix_s = 100'000;
    auto r = build_report(in);
    BOOST_TEST(r.window == "interval");
    BOOST_TEST(*r.figure("rps")->value == 1000.0 / 600, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(*r.figure("error_rate_pct")->value == 40.0, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(*r.figure("nats_reconnects_per_day")->value == 7 * 144.0, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(*r.figure("backpressure_active_pct")->value == 5.0, boost::test_tools::tolerance(1e-9));
    BOOST_TEST((verdict(r, "Error rate").result == verdict_result::fail));
    BOOST_TEST((verdict(r, "NATS reconnects").result == verdict_result::fail));
    BOOST_TEST((verdict(r, "Backpressure").result == verdict_result::fail)); // 5% is not < 5%
    BOOST_TEST(r.exit_code() == 1);
    BOOST_TEST(r.top_errors[0].second == 400.0);
}

BOOST_AUTO_TEST_CASE(a_missing_metric_is_unknown_never_a_pass)
{
    report_inputs in;
    in.metrics = read("router_decide_requests_total{outcome=\"ok\",code=\"none\"} 0\n");
    in.status = json::parse(R"({"uptime_s":60})");
    auto r = build_report(in);
    BOOST_TEST(!r.figure("backpressure_active_pct")->value.has_value());
    BOOST_TEST(r.figure("backpressure_active_pct")->note == "the router does not export it");
    BOOST_TEST((verdict(r, "Backpressure").result == verdict_result::unknown));
    BOOST_TEST((verdict(r, "Error rate").result == verdict_result::unknown)); // no requests at all
    BOOST_TEST(r.exit_code() == 0);
    auto text = render_text(r);
    BOOST_TEST(text.find("UNKNOWN  Backpressure active < 5% of time") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_baseline_decides_the_performance_verdict)
{
    report_inputs in;
    in.metrics = read(metrics_text(1000, 0, 0, 0));
    in.status = json::parse(R"({"uptime_s":100})");
    in.now_unix_s = 100;
    in.baseline = json::parse(R"({"variants":{"plain":{"router":{"rss_load_mb":17,"p99_ms":9.0}}}})");
    auto r = build_report(in);
    // p99 of the fixture: 9.1 ms (0.99 of 1000 in the 1..10 ms bucket).
    BOOST_TEST(*r.figure("p99_ms")->baseline == 9.0);
    BOOST_TEST((verdict(r, "Performance").result == verdict_result::pass));
    in.baseline = json::parse(R"({"variants":{"plain":{"router":{"p99_ms":5.0}}}})");
    BOOST_TEST((verdict(build_report(in), "Performance").result == verdict_result::fail));
    // Faster than the baseline passes: only a rise beyond 20% fails.
    in.baseline = json::parse(R"({"variants":{"plain":{"router":{"p99_ms":90.0}}}})");
    BOOST_TEST((verdict(build_report(in), "Performance").result == verdict_result::pass));
    BOOST_TEST(*r.figure("rss_mb")->baseline == 17.0);
}

BOOST_AUTO_TEST_CASE(the_benchmark_baseline_gives_latencies_in_microseconds)
{
    report_inputs in;
    in.metrics = read(metrics_text(1000, 0, 0, 0));
    in.status = json::parse(R"({"uptime_s":100})");
    in.now_unix_s = 100;
    // The shape perf_gate.py --update-baseline records from a bench_router.sh artifact.
    in.baseline = json::parse(
        R"({"variants":{"plain":{"scenarios":{"open_10000":{"router":{"p95":8200.0,"p99":9500.0}}}}}})");
    auto r = build_report(in);
    BOOST_TEST(*r.figure("p99_ms")->baseline == 9.5, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(*r.figure("p95_ms")->baseline == 8.2, boost::test_tools::tolerance(1e-9));
    BOOST_TEST((verdict(r, "Performance").result == verdict_result::pass));
}

BOOST_AUTO_TEST_CASE(json_carries_figures_and_verdicts)
{
    report_inputs in;
    in.metrics = read(metrics_text(10, 0, 0, 0));
    in.status = json::parse(R"({"uptime_s":10})");
    in.now_unix_s = 10;
    in.varz = json::parse(R"({"connections":3,"slow_consumers":0})");
    auto o = to_json(build_report(in));
    BOOST_TEST(o.at("figures").at("rps").at("value").to_number<double>() == 1.0);
    BOOST_TEST(o.at("figures").at("nats_connections").at("value").to_number<double>() == 3.0);
    BOOST_TEST(o.at("figures").at("consumer_pending").at("value").is_null());
    BOOST_TEST(o.at("verdicts").as_array().size() == 5u);
    BOOST_TEST(o.at("pass").as_bool());
}

BOOST_AUTO_TEST_CASE(the_checklists_cp2_figures_come_from_their_series_over_the_window)
{
    auto text = [](int scale) {
        auto n = [scale](int v) { return std::to_string(v * scale); };
        std::string t = metrics_text(100 * scale, 0, 0, 0);
        t += "router_correlation_source_total{field=\"trace_id\",source=\"header\"} " + n(3) + "\n";
        t += "router_correlation_source_total{field=\"trace_id\",source=\"absent\"} " + n(7) + "\n";
        t += "router_idempotency_hits_total " + n(1) + "\n";
        t += "router_idempotency_misses_total " + n(6) + "\n";
        t += "router_idempotency_conflicts_total " + n(1) + "\n";
        t += "router_idempotency_entries 42\n";
        t += "router_results_correlation_total{keys=\"both\"} " + n(5) + "\n";
        t += "router_nats_connection_failures_total{reason=\"refused\"} " + n(4) + "\n";
        t += "router_nats_connection_failures_total{reason=\"tls\"} " + n(1) + "\n";
        t += "router_backpressure_warning_seconds_total " + n(10) + "\n";
        t += "router_backpressure_activations_total " + n(2) + "\n";
        t += "router_backpressure_recovery_seconds_bucket{le=\"5\"} 0\n";
        t += "router_backpressure_recovery_seconds_bucket{le=\"10\"} " + n(2) + "\n";
        t += "router_backpressure_recovery_seconds_bucket{le=\"+Inf\"} " + n(2) + "\n";
        t += "router_backpressure_recovery_seconds_count " + n(2) + "\n";
        t += "router_jetstream_consumer_pending{stream=\"S\",consumer=\"C\"} 17\n";
        return t;
    };
    report_inputs in;
    in.earlier = read(text(1));
    in.metrics = read(text(2));
    in.interval_s = 100;
    auto r = build_report(in);
    BOOST_TEST(*r.figure("trace_id_from_header")->value == 3.0);
    BOOST_TEST(*r.figure("trace_id_from_absent")->value == 7.0);
    BOOST_TEST(!r.figure("trace_id_from_payload")); // a series the router does not export: no figure
    BOOST_TEST(*r.figure("idempotency_misses")->value == 6.0);
    BOOST_TEST(*r.figure("idempotency_duplicate_pct")->value == 25.0); // (1 + 1) of 8
    BOOST_TEST(*r.figure("idempotency_entries")->value == 42.0);       // a gauge: as read
    BOOST_TEST(*r.figure("results_keyed_by_both")->value == 5.0);
    BOOST_TEST(!r.figure("results_keyed_by_request_id")->value.has_value());
    BOOST_TEST(*r.figure("nats_connection_failures")->value == 5.0);
    BOOST_TEST(*r.figure("nats_connection_failures_refused")->value == 4.0);
    BOOST_TEST(*r.figure("backpressure_warning_pct")->value == 10.0);
    BOOST_TEST(*r.figure("backpressure_activations")->value == 2.0);
    BOOST_TEST(*r.figure("backpressure_recovery_p95_s")->value == 9.75, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(*r.figure("consumer_pending")->value == 17.0);
}

BOOST_AUTO_TEST_SUITE_END()
