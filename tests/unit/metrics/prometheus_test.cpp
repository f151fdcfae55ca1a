#include "beamline/metrics/process.hpp"
#include "beamline/metrics/prometheus.hpp"
#include "promtool.hpp"

#include <boost/test/unit_test.hpp>
#include <cmath>
#include <fstream>

using namespace beamline::metrics;

namespace
{

std::string number(double v)
{
    std::string out;
    append_number(out, v);
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(prometheus_text)

BOOST_AUTO_TEST_CASE(numbers_use_forms_prometheus_parses)
{
    BOOST_TEST(number(0) == "0");
    BOOST_TEST(number(42) == "42");
    BOOST_TEST(number(0.005) == "0.005");
    BOOST_TEST(number(2.5) == "2.5");
    BOOST_TEST(number(1e-05) == "1e-05");
    BOOST_TEST(number(-3.25) == "-3.25");
    BOOST_TEST(number(INFINITY) == "+Inf");
    BOOST_TEST(number(-INFINITY) == "-Inf");
    BOOST_TEST(number(NAN) == "NaN");
}

BOOST_AUTO_TEST_CASE(label_values_and_help_are_escaped)
{
    std::string label;
    append_escaped_label_value(label, "a\\b\"c\nd");
    BOOST_TEST(label == R"(a\\b\"c\nd)");
    std::string help;
    append_escaped_help(help, "path \\ \"quoted\"\nsecond line");
    BOOST_TEST(help == R"(path \\ "quoted"\nsecond line)");
}

BOOST_AUTO_TEST_CASE(exposition_matches_golden_text)
{
    registry reg;
    reg.counter("router_decide_requests_total", "Decide requests by outcome.", {{"outcome", "ok"}}).inc(3);
    reg.counter("router_decide_requests_total", "Decide requests by outcome.", {{"outcome", "error"}}).inc();
    reg.gauge("router_in_flight", "Decisions in flight.").set(2);
    reg.gauge("router_policy_source", "Where policies come from.", {{"path", "C:\\p \"x\"\nnext"}}).set(1);
    auto& h =
        reg.histogram("router_decide_latency_seconds", "Decide latency.", {0.001, 0.01}, {{"mode", "core"}});
    h.observe(0.0005);
    h.observe(0.002);
    h.observe(0.5);

    const std::string expected = "# HELP router_decide_latency_seconds Decide latency.\n"
                                 "# TYPE router_decide_latency_seconds histogram\n"
                                 "router_decide_latency_seconds_bucket{mode=\"core\",le=\"0.001\"} 1\n"
                                 "router_decide_latency_seconds_bucket{mode=\"core\",le=\"0.01\"} 2\n"
                                 "router_decide_latency_seconds_bucket{mode=\"core\",le=\"+Inf\"} 3\n"
                                 "router_decide_latency_seconds_sum{mode=\"core\"} 0.5025\n"
                                 "router_decide_latency_seconds_count{mode=\"core\"} 3\n"
                                 "# HELP router_decide_requests_total Decide requests by outcome.\n"
                                 "# TYPE router_decide_requests_total counter\n"
                                 "router_decide_requests_total{outcome=\"ok\"} 3\n"
                                 "router_decide_requests_total{outcome=\"error\"} 1\n"
                                 "# HELP router_in_flight Decisions in flight.\n"
                                 "# TYPE router_in_flight gauge\n"
                                 "router_in_flight 2\n"
                                 "# HELP router_policy_source Where policies come from.\n"
                                 "# TYPE router_policy_source gauge\n"
                                 "router_policy_source{path=\"C:\\\\p \\\"x\\\"\\nnext\"} 1\n";
    BOOST_TEST(render_text(reg) == expected);
}

BOOST_AUTO_TEST_CASE(empty_histogram_still_renders_every_bucket)
{
    registry reg;
    reg.histogram("router_idle_seconds", "Nothing observed yet.", {1, 2});
    BOOST_TEST(render_text(reg) == "# HELP router_idle_seconds Nothing observed yet.\n"
                                   "# TYPE router_idle_seconds histogram\n"
                                   "router_idle_seconds_bucket{le=\"1\"} 0\n"
                                   "router_idle_seconds_bucket{le=\"2\"} 0\n"
                                   "router_idle_seconds_bucket{le=\"+Inf\"} 0\n"
                                   "router_idle_seconds_sum 0\n"
                                   "router_idle_seconds_count 0\n");
}

BOOST_AUTO_TEST_CASE(process_metrics_come_from_proc_self)
{
    const auto s = read_process_sample();
    BOOST_REQUIRE(s.resident_bytes && s.virtual_bytes && s.cpu_seconds && s.open_fds && s.max_fds &&
                  s.start_time_seconds);
    BOOST_TEST(*s.resident_bytes > 0);
    BOOST_TEST(*s.virtual_bytes >= *s.resident_bytes);
    BOOST_TEST(*s.open_fds >= 3); // stdin, stdout, stderr at least
    BOOST_TEST(*s.max_fds >= *s.open_fds);
    const auto now = static_cast<double>(std::time(nullptr));
    BOOST_TEST(*s.start_time_seconds <= now + 1);
    BOOST_TEST(*s.start_time_seconds > now - 24 * 3600); // this test process started today

    // Opening a descriptor shows up in the next reading.
    const auto before = *read_process_sample().open_fds;
    std::ifstream extra("/proc/self/stat");
    BOOST_TEST(*read_process_sample().open_fds == before + 1);
}

BOOST_AUTO_TEST_CASE(realistic_exposition_passes_promtool_check_metrics,
                     *boost::unit_test::precondition(
                         [](boost::unit_test::test_unit_id)
                         {
                             boost::test_tools::assertion_result present(beamline::test::promtool_present());
                             present.message()
                                 << "promtool is not installed (Debian package prometheus); skipped";
                             return present;
                         }))
{
    registry reg;
    const auto process = register_process_metrics(reg);
    register_build_info(reg, "0.1.0", {{"revision", "abc123"}});
    label_cap tenants(2);
    capped_family<counter> decisions(reg, tenants, "router_decisions_total",
                                     "Decisions by tenant and reason.", "tenant_id");
    decisions.get("acme", {{"reason", "weighted"}}).inc(10);
    decisions.get("glo\"bex", {{"reason", "sticky"}}).inc(2);
    decisions.get("initech", {{"reason", "fallback"}}).inc();
    reg.counter("router_decide_requests_total", "Decide requests by outcome and error code.",
                {{"outcome", "error"}, {"code", "invalid_request"}})
        .inc(4);
    reg.gauge("router_nats_connection_state", "NATS connection state (1 connected).").set(1);
    reg.gauge("router_policy_source_info", "Policy directory \\ with a backslash\nand a newline in help.",
              {{"dir", "C:\\policies\n\"quoted\""}})
        .set(1);
    const auto pending = reg.callback(metric_type::gauge, "router_nats_pending_bytes",
                                      "Outbound bytes pending.", {}, [] { return 1536.0; });
    auto& latency = reg.histogram("router_decide_latency_seconds", "Decide latency.", latency_buckets());
    for (double v : {0.00003, 0.0002, 0.0002, 0.004, 0.3, 7.0})
        latency.observe(v);

    const auto text = render_text(reg);
    for (const auto* name :
         {"process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes",
          "process_open_fds", "process_max_fds", "process_start_time_seconds",
          "router_build_info{version=\"0.1.0\",revision=\"abc123\"} 1", "tenant_id=\"_other\"", "glo\\\"bex"})
        BOOST_TEST(text.find(name) != std::string::npos, "missing " << name);

    const auto result = beamline::test::promtool_check_metrics(text);
    BOOST_TEST(result.status == 0);
    BOOST_TEST(result.output.empty(), "promtool said: " << result.output << "\non:\n" << text);
}

BOOST_AUTO_TEST_SUITE_END()
