// The daemon's backpressure gate with fake inputs and a fake clock: configuration of the section,
// admission while active, the status JSON, metrics.
#include "beamline/app/backpressure_gate.hpp"
#include "beamline/metrics/prometheus.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

using namespace beamline::app;
using namespace std::chrono_literals;

namespace
{

std::string load_error(std::vector<std::string> flags)
{
    config_sources s;
    s.flags = std::move(flags);
    auto r = load_config(s);
    return r ? std::string() : r.error().message;
}

// A gate over inputs the test sets, on a clock the test moves.
struct gate_fixture
{
    std::uint64_t inflight = 0;
    std::uint64_t pending = 0;
    backpressure_gate::clock::time_point now{std::chrono::hours(100)};
    beamline::metrics::registry reg;
    std::shared_ptr<backpressure_gate> gate;

    explicit gate_fixture(backpressure_config cfg)
        : gate(std::make_shared<backpressure_gate>(
              cfg, reg, backpressure_gate::sources{[this] { return inflight; }, [this] { return pending; }},
              [this] { return now; }))
    {
    }
    void decided(int count, std::chrono::milliseconds latency)
    {
        for (int i = 0; i < count; ++i)
            gate->record_latency(latency);
    }
    void run_for(std::chrono::milliseconds d)
    {
        for (auto end = now + d; now < end; now += 100ms)
            gate->evaluate();
        gate->evaluate();
    }
};

// The value of one series in the registry's exposition text.
double series(const beamline::metrics::registry& reg, const std::string& name)
{
    const auto text = beamline::metrics::render_text(reg);
    const auto at = text.find("\n" + name + " ");
    BOOST_TEST_REQUIRE(at != std::string::npos, name << " not exposed");
    return std::stod(text.substr(at + name.size() + 2));
}

backpressure_config small_marks()
{
    backpressure_config c;
    c.inflight_high = 10;
    c.inflight_low = 4;
    c.activate_after_ms = 500ms;
    c.recover_after_ms = 1000ms;
    c.retry_after_base_ms = 100ms;
    return c;
}

backpressure_config latency_marks()
{
    auto c = small_marks();
    c.latency_p95_high_ms = 100;
    c.latency_p95_low_ms = 10;
    return c;
}

} // namespace

BOOST_AUTO_TEST_SUITE(backpressure_gate_suite)

BOOST_AUTO_TEST_CASE(configuration_section_reads_and_checks_its_keys)
{
    config_sources s;
    s.flags = {"--backpressure.enabled=false", "--backpressure.inflight_high=30", "--backpressure.inflight_low=3",
               "--backpressure.activate_after_ms=2s", "--backpressure.pending_bytes_high=8MiB"};
    auto r = load_config(s);
    BOOST_TEST_REQUIRE(bool(r), (r ? "" : r.error().message));
    BOOST_TEST(!r->backpressure.enabled);
    BOOST_TEST(r->backpressure.inflight_high == 30u);
    BOOST_TEST(r->backpressure.inflight_low == 3u);
    BOOST_TEST(r->backpressure.activate_after_ms.count() == 2000);
    BOOST_TEST(r->backpressure.pending_bytes_high == 8u << 20);
    BOOST_TEST(r->backpressure.recover_after_ms.count() == 5000); // default

    BOOST_TEST(load_error({"--backpressure.enabled=maybe"}).find("\"maybe\" is not true or false") != std::string::npos);
    BOOST_TEST(load_error({"--backpressure.inflight_low=1500"}) ==
               "flag --backpressure.inflight_low: backpressure.inflight_low (1500) is above "
               "backpressure.inflight_high (1000): the low mark must not exceed the high mark");
    BOOST_TEST(load_error({"--backpressure.latency_p95_low_ms=900"}).find("backpressure.latency_p95_high_ms") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(admits_everything_until_active_then_only_up_to_the_low_mark)
{
    gate_fixture f(small_marks());
    f.inflight = 50;
    BOOST_TEST(!f.gate->admit(50)); // warning at most: everything admitted
    f.run_for(400ms);
    BOOST_TEST(to_string(f.gate->state()) == "warning");
    BOOST_TEST(!f.gate->admit(50));
    f.run_for(200ms);
    BOOST_REQUIRE(f.gate->active());

    BOOST_TEST(!f.gate->admit(0));
    BOOST_TEST(!f.gate->admit(3));
    auto refused = f.gate->admit(4);
    BOOST_REQUIRE(refused.has_value());
    BOOST_TEST(*refused == 500u); // 100 ms × (50 / 10)
    BOOST_TEST(series(f.reg, "router_backpressure_rejections_total") == 1);
    BOOST_TEST(series(f.reg, "router_backpressure_activations_total") == 1);
    BOOST_TEST(series(f.reg, "router_backpressure_state") == 2);
    BOOST_TEST(series(f.reg, R"(router_backpressure_input{input="inflight"})") == 50);

    f.inflight = 0;
    f.run_for(900ms);
    BOOST_TEST(f.gate->active());
    f.run_for(200ms);
    BOOST_TEST(!f.gate->active());
    // Active from the evaluation at 500 ms to the one at 1600 ms that recovered: 1.1 s.
    BOOST_TEST(series(f.reg, "router_backpressure_active_seconds_total") == 1.1, boost::test_tools::tolerance(1e-6));
    // In warning from the first evaluation (0 ms) to the one at 500 ms that activated.
    BOOST_TEST(series(f.reg, "router_backpressure_warning_seconds_total") == 0.5, boost::test_tools::tolerance(1e-6));
    // One recovery, of the 1.1 s it was active, in the bucket up to 2 s.
    BOOST_TEST(series(f.reg, "router_backpressure_recovery_seconds_count") == 1);
    BOOST_TEST(series(f.reg, "router_backpressure_recovery_seconds_sum") == 1.1, boost::test_tools::tolerance(1e-6));
    BOOST_TEST(series(f.reg, R"(router_backpressure_recovery_seconds_bucket{le="1"})") == 0);
    BOOST_TEST(series(f.reg, R"(router_backpressure_recovery_seconds_bucket{le="2"})") == 1);
    BOOST_TEST(series(f.reg, "router_backpressure_state") == 0);
    BOOST_TEST(!f.gate->admit(100));
}

BOOST_AUTO_TEST_CASE(latency_input_needs_enough_samples_and_reads_in_milliseconds)
{
    gate_fixture f(latency_marks());
    f.decided(19, 300ms);
    auto quiet = f.gate->evaluate();
    BOOST_TEST(quiet.inputs.at(1).value == 0.0); // 19 samples: not a trend
    f.gate->record_latency(300ms);
    auto busy = f.gate->evaluate();
    BOOST_TEST(busy.inputs.at(1).value >= 300.0);
    BOOST_TEST(busy.inputs.at(1).value <= 375.0);
    BOOST_TEST(busy.inputs.at(1).over);

    // The load stops: once nothing is in flight and no decision has finished for a second, the
    // slow samples, though still in the 10 s window, no longer hold the input up.
    f.now += 999ms;
    BOOST_TEST(f.gate->evaluate().inputs.at(1).value >= 300.0);
    f.now += 1ms;
    BOOST_TEST(f.gate->evaluate().inputs.at(1).value == 0.0);
}

BOOST_AUTO_TEST_CASE(latency_input_is_idle_a_second_after_the_last_decision_not_a_slot_later)
{
    gate_fixture f(latency_marks());
    // The last decision late in its 1 s slot: idleness must not wait for the next slot's end.
    f.now += 900ms;
    f.decided(20, 300ms);
    BOOST_TEST(f.gate->evaluate().inputs.at(1).over);
    f.now += 1000ms;
    BOOST_TEST(f.gate->evaluate().inputs.at(1).value == 0.0);
}

BOOST_AUTO_TEST_CASE(a_decision_still_in_flight_keeps_the_latency_input_up)
{
    gate_fixture f(latency_marks());
    f.decided(20, 300ms);
    // Decisions so slow that none finished for a while are not idleness while they are in flight.
    f.inflight = 1;
    f.now += 3s;
    BOOST_TEST(f.gate->evaluate().inputs.at(1).value >= 300.0);
    f.inflight = 0;
    BOOST_TEST(f.gate->evaluate().inputs.at(1).value == 0.0);
}

BOOST_AUTO_TEST_CASE(recovery_takes_recover_after_ms_once_the_load_stops)
{
    // Overloaded by in-flight and latency together; the load stops at once (in-flight 0).
    gate_fixture f(latency_marks());
    f.inflight = 20;
    f.decided(20, 300ms);
    f.run_for(600ms);
    BOOST_TEST_REQUIRE(f.gate->active());
    f.inflight = 0;
    const auto stopped = f.now;
    while (f.gate->state() != beamline::router::backpressure_state::inactive && f.now - stopped < 10s)
    {
        f.now += 100ms;
        f.gate->evaluate();
    }
    // recover_after_ms (1 s here) after the latency input goes idle, itself 1 s after the last
    // decision: no extra slot.
    BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(f.now - stopped).count() <= 2100);
}

BOOST_AUTO_TEST_CASE(status_json_has_exactly_the_specified_members)
{
    gate_fixture f(small_marks());
    f.pending = 123;
    auto j = to_json(f.gate->evaluate());
    BOOST_TEST(j.size() == 5u);
    for (const char* key : {"state", "since_ms", "retry_after_ms", "activations", "inputs"})
        BOOST_TEST(j.contains(key), key);
    const auto& inputs = j.at("inputs").as_object();
    BOOST_TEST(inputs.size() == 3u); // no results consumer: no consumer_pending
    BOOST_TEST(boost::json::serialize(inputs.at("pending_bytes")) ==
               R"({"value":123,"high":4194304,"low":1048576,"over":false})");

    f.gate->set_consumer_pending_source([] { return std::uint64_t{20'000}; });
    auto with_consumer = to_json(f.gate->evaluate());
    BOOST_TEST(with_consumer.at("inputs").as_object().at("consumer_pending").at("over") == true);
}

BOOST_AUTO_TEST_CASE(results_consumer_slows_while_active_unless_its_backlog_is_the_cause)
{
    gate_fixture f(small_marks());
    std::uint64_t backlog = 0;
    f.gate->set_consumer_pending_source([&] { return backlog; });
    f.inflight = 50;
    f.run_for(600ms);
    BOOST_REQUIRE(f.gate->active());
    BOOST_TEST(f.gate->results_consumer_should_slow());
    backlog = 50'000;
    f.gate->evaluate();
    BOOST_TEST(f.gate->active());
    BOOST_TEST(!f.gate->results_consumer_should_slow());
}

BOOST_AUTO_TEST_CASE(reset_reports_whether_the_next_evaluation_raises_it_again)
{
    gate_fixture f(small_marks());
    f.inflight = 50;
    f.run_for(600ms);
    BOOST_REQUIRE(f.gate->active());
    auto [outcome, status] = f.gate->reset();
    BOOST_TEST(outcome.reactivates);
    BOOST_TEST(!f.gate->active());
    BOOST_TEST(!f.gate->admit(100)); // until the next evaluation
    f.gate->evaluate();
    BOOST_TEST(f.gate->active());
}

BOOST_AUTO_TEST_SUITE_END()
