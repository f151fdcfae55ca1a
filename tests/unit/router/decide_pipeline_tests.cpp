// The decide pipeline with fakes for its transport, on an io_context run by the test thread (so
// the order of hand-offs is the order of posts): exactly one reply per submit, the validation order
// down to the policy, state only for tenants with a policy, the in-flight cap, the admission gate,
// and the truth about an ExecAssignment that could not be published.
#include "pipeline_fixtures.hpp"

#include <boost/test/unit_test.hpp>

using namespace beamline::router;
using namespace beamline::router::test;
using namespace std::chrono_literals;

namespace
{

struct counting_observer : decide_observer
{
    int decided_calls = 0;
    int refused_assignments = 0;
    int published_assignments = 0;
    int internal_errors = 0;
    bool throw_on_tenant = false;
    std::vector<std::chrono::steady_clock::duration> latencies;
    std::vector<std::chrono::steady_clock::time_point> finished_at;

    std::unique_ptr<tenant_observer> tenant_created(std::string_view) override
    {
        if (throw_on_tenant) throw std::runtime_error("observer broke");
        return nullptr;
    }
    void decided(const decide_outcome&, const publish_result&, std::chrono::steady_clock::duration latency,
                 std::chrono::steady_clock::time_point finished) noexcept override
    {
        ++decided_calls;
        latencies.push_back(latency);
        finished_at.push_back(finished);
    }
    void assignment_published(const decide_outcome&) noexcept override { ++published_assignments; }
    void assignment_refused(const decide_outcome&, const publish_result&) noexcept override { ++refused_assignments; }
    void internal_error(const decide_outcome&, std::string_view) noexcept override { ++internal_errors; }
};

struct closed_gate : admission_gate
{
    bool closed = true;
    int checks = 0;
    std::optional<overload_refusal> check() noexcept override
    {
        ++checks;
        if (!closed) return std::nullopt;
        return overload_refusal{250, "backpressure is active (decisions in flight over 10)"};
    }
};

struct pipeline_fixture
{
    boost::asio::io_context io;
    policy_files policies;
    fake_clock clock;
    std::shared_ptr<recording_sink> sink = std::make_shared<recording_sink>();
    std::shared_ptr<recording_publisher> publisher = std::make_shared<recording_publisher>();
    std::shared_ptr<counting_observer> observer = std::make_shared<counting_observer>();
    std::shared_ptr<closed_gate> gate;
    std::shared_ptr<decision_pacer> pacer;
    decide_pipeline_settings settings;
    std::optional<decide_pipeline> pipeline;

    pipeline_fixture()
    {
        policies.put("acme", "default", two_provider_policy);
        policies.put("acme", "premium", one_provider_policy);
        policies.put("globex", "default", one_provider_policy);
    }

    decide_pipeline& start()
    {
        decide_pipeline_parts parts;
        parts.assignments = publisher;
        parts.observer = observer;
        parts.gate = gate;
        parts.pacer = pacer;
        parts.now = [this] { return clock.now; };
        parts.seed = 99;
        pipeline.emplace(io.get_executor(), policies.store, settings, std::move(parts));
        return *pipeline;
    }

    void submit(const std::string& body, const std::string& address, std::optional<std::string_view> version = {})
    {
        pipeline->submit(body, {"beamline.router.v1.decide", version, std::nullopt}, sink, address);
    }

    /// Runs every hand-off to completion.
    void settle()
    {
        io.restart();
        io.run();
    }

    const recorded_reply& ask(const std::string& body, const std::string& address)
    {
        submit(body, address);
        settle();
        return sink->only(address);
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(decide_pipeline_suite)

BOOST_AUTO_TEST_CASE(every_submit_gets_exactly_one_reply_whatever_happens_to_it)
{
    for (bool intake_on_submit : {true, false})
    {
        BOOST_TEST_CONTEXT("intake_on_submit " << intake_on_submit)
        {
            pipeline_fixture f;
            f.settings.intake_on_submit = intake_on_submit;
            f.settings.tenants.inflight_max = 5;
            f.start();
            std::vector<std::string> bodies = {
                request_json("acme", "ok"),
                "{not json",
                "",
                "[1,2]",
                std::string(2u << 20, 'x'),
                request_json("acme", "no-policy", R"("policy_id":"nope")"),
                request_json("stranger", "unknown-tenant"),
                request_json("acme", "push", R"("push_assignment":true)"),
                request_json("acme", "deny", R"("constraints":{"providers_deny":["openai","anthropic"]})"),
                request_json("acme", "capped-1"),
                request_json("acme", "capped-2"),
                request_json("acme", "capped-3"),
                request_json("bad tenant", "bad-format"),
            };
            for (std::size_t i = 0; i < bodies.size(); ++i)
                f.submit(bodies[i], "reply." + std::to_string(i));
            // Five acme requests wait for its strand (the refusals may already be answered).
            BOOST_TEST(f.pipeline->inflight() >= 5u);
            f.settle();
            auto counts = f.sink->per_address();
            BOOST_TEST(counts.size() == bodies.size());
            for (const auto& [address, n] : counts)
                BOOST_TEST(n == 1, address << " got " << n << " replies");
            BOOST_TEST(f.observer->decided_calls == static_cast<int>(bodies.size()));
            BOOST_TEST(f.pipeline->inflight() == 0u);
            // Submitted outside the io_context, five acme requests waited for its strand when the last
            // two arrived: those were capped. Intake on a worker finds the strand idle each time and
            // decides at once (dispatch), so nothing waits and nothing is capped.
            int capped = 0;
            for (const auto& r : f.sink->replies)
                if (r.code() == "rate_limited" && r.message().find("in flight") != std::string::npos) ++capped;
            BOOST_TEST(capped == (intake_on_submit ? 2 : 0));
        }
    }
}

/// Keeps every decision it is handed until the test lets it start.
struct held_decisions final : decision_pacer
{
    std::vector<std::function<void()>> starts;
    void hold(std::function<void()> start) override { starts.push_back(std::move(start)); }
};

BOOST_FIXTURE_TEST_CASE(a_paced_decision_waits_in_flight_until_its_pacer_starts_it, pipeline_fixture)
{
    auto held = std::make_shared<held_decisions>();
    pacer = held;
    start();
    submit(request_json("acme", "paced-1"), "reply.1");
    submit(request_json("globex", "paced-2"), "reply.2");
    submit("{not json", "reply.3"); // refused by intake: never paced
    settle();
    BOOST_TEST(held->starts.size() == 2u);
    BOOST_TEST(sink->replies.size() == 1u);
    BOOST_TEST(pipeline->inflight() == 2u);
    held->starts[1]();
    settle();
    BOOST_TEST(sink->replies.size() == 2u);
    BOOST_TEST(sink->replies.back().address == "reply.2"); // in the order the pacer starts them
    BOOST_TEST(sink->replies.back().code() == "ok");
    held->starts[0]();
    settle();
    BOOST_TEST(sink->replies.size() == 3u);
    BOOST_TEST(pipeline->inflight() == 0u);
    auto counts = sink->per_address();
    for (const auto& [address, n] : counts)
        BOOST_TEST(n == 1, address << " got " << n << " replies");
}

BOOST_FIXTURE_TEST_CASE(validation_runs_in_the_contract_order_down_to_the_policy, pipeline_fixture)
{
    settings.decide.intake.max_payload = 300;
    settings.decide.intake.tenants = tenant_allow_list({"acme", "bad tenant"});
    start();
    struct step
    {
        std::string body;
        std::string code;
        std::string intake_code; // empty: none
        std::string names;       // the message names this
    };
    // Each request breaks its own rule and every rule after it; the first is the one reported.
    const std::string oversize_garbage = "{" + std::string(400, '"');
    const std::vector<step> steps = {
        {oversize_garbage, "invalid_request", "SCHEMA_VALIDATION_FAILED", "max_payload"},
        {R"({"version":"2",)", "invalid_request", "SCHEMA_VALIDATION_FAILED", "JSON"},
        {R"([{"version":"2"}])", "invalid_request", "SCHEMA_VALIDATION_FAILED", "object"},
        {R"({"version":"2","tenant_id":"bad tenant","policy_id":"nope"})", "invalid_request", "VERSION_UNSUPPORTED",
         "2"},
        {R"({"version":"1","tenant_id":"bad tenant","policy_id":"nope"})", "invalid_request",
         "CORRELATION_FIELDS_INVALID", "request_id is required"},
        {R"({"version":"1","request_id":"r","tenant_id":"bad tenant","task":{"type":"t","payload":{}},"policy_id":"nope"})",
         "invalid_request", "CORRELATION_FIELDS_INVALID", "tenant_id"},
        {request_json("globex", "r", R"("policy_id":"nope")"), "unauthorized", "TENANT_FORBIDDEN", "globex"},
        {request_json("acme", "r", R"("policy_id":"nope")"), "policy_not_found", "", "nope"},
        {request_json("acme", "r", R"("policy_id":"premium")"), "ok", "", ""},
    };
    for (std::size_t i = 0; i < steps.size(); ++i)
    {
        BOOST_TEST_CONTEXT("step " << i << ": " << steps[i].body.substr(0, 80))
        {
            const auto& reply = ask(steps[i].body, "step." + std::to_string(i));
            BOOST_TEST(reply.code() == steps[i].code);
            if (steps[i].code == "ok") continue;
            auto error = reply.json().at("error").as_object();
            const auto* intake = error.if_contains("intake_error_code");
            BOOST_TEST((intake ? std::string(intake->as_string()) : std::string()) == steps[i].intake_code);
            BOOST_TEST(reply.message().find(steps[i].names) != std::string::npos, reply.message());
        }
    }
}

BOOST_FIXTURE_TEST_CASE(a_repeat_is_replayed_with_the_replay_flag_and_a_changed_one_refused, pipeline_fixture)
{
    start();
    const std::string key = R"("idempotency_key":"k-1")";
    const auto& first = ask(request_json("acme", "r-1", key), "first");
    BOOST_TEST_REQUIRE(first.code() == "ok");
    BOOST_TEST(!first.idempotent_replay);
    const auto& again = ask(request_json("acme", "r-2", key), "again");
    BOOST_TEST(again.idempotent_replay);
    BOOST_TEST(again.body == sink->only("first").body);
    const auto& changed = ask(request_json("acme", "r-3", key + R"(,"policy_id":"premium")"), "changed");
    BOOST_TEST(!changed.idempotent_replay);
    BOOST_TEST(changed.json().at("error").at("intake_error_code").as_string() == "IDEMPOTENCY_VIOLATION");
}

BOOST_FIXTURE_TEST_CASE(a_replay_expires_with_the_injected_clock, pipeline_fixture)
{
    settings.tenants.state.idempotency_ttl = 60s;
    start();
    const std::string key = R"("idempotency_key":"k-ttl")";
    BOOST_TEST_REQUIRE(ask(request_json("acme", "r-1", key), "a").code() == "ok");
    clock.advance(59s);
    BOOST_TEST(ask(request_json("acme", "r-2", key), "b").idempotent_replay);
    clock.advance(1s);
    const auto& fresh = ask(request_json("acme", "r-3", key), "c");
    BOOST_TEST(!fresh.idempotent_replay);
    BOOST_TEST(fresh.json().at("context").at("request_id").as_string() == "r-3");
}

BOOST_FIXTURE_TEST_CASE(unknown_tenants_are_answered_without_state, pipeline_fixture)
{
    start();
    for (int i = 0; i < 2000; ++i)
        submit(request_json("stranger-" + std::to_string(i), "r"), "u." + std::to_string(i));
    settle();
    BOOST_TEST(sink->replies.size() == 2000u);
    for (const auto& r : sink->replies)
        BOOST_TEST_REQUIRE(r.code() == "policy_not_found");
    BOOST_TEST(pipeline->tenants().size() == 0u);
    // A tenant that has a policy gets state; asking it for a policy it lacks keeps its state.
    BOOST_TEST(ask(request_json("acme", "r"), "acme").code() == "ok");
    BOOST_TEST(ask(request_json("acme", "r", R"("policy_id":"nope")"), "acme-nope").code() == "policy_not_found");
    BOOST_TEST(pipeline->tenants().size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(tenant_state_is_bounded_and_evictions_are_counted, pipeline_fixture)
{
    settings.tenants.max_tenants = 2;
    for (int i = 0; i < 5; ++i)
        policies.put("t" + std::to_string(i), "default", one_provider_policy);
    start();
    for (int i = 0; i < 5; ++i)
        BOOST_TEST(ask(request_json("t" + std::to_string(i), "r"), "t." + std::to_string(i)).code() == "ok");
    BOOST_TEST(pipeline->tenants().size() == 2u);
    BOOST_TEST(pipeline->tenants().evictions() == 3u);
    // An evicted tenant comes back with fresh state, evicting another.
    BOOST_TEST(ask(request_json("t0", "r"), "t0.again").code() == "ok");
    BOOST_TEST(pipeline->tenants().evictions() == 4u);
}

BOOST_FIXTURE_TEST_CASE(the_in_flight_cap_refuses_at_once_and_frees_with_the_reply, pipeline_fixture)
{
    settings.tenants.inflight_max = 2;
    start();
    for (int i = 0; i < 3; ++i)
        submit(request_json("acme", "r-" + std::to_string(i)), "cap." + std::to_string(i));
    // globex is not held back by acme's cap.
    submit(request_json("globex", "g"), "globex");
    settle();
    BOOST_TEST(sink->only("cap.0").code() == "ok");
    BOOST_TEST(sink->only("cap.1").code() == "ok");
    const auto& capped = sink->only("cap.2");
    BOOST_TEST(capped.code() == "rate_limited");
    BOOST_TEST(capped.json().at("error").at("retry_after_ms").to_number<int>() == 10);
    BOOST_TEST(capped.message().find("2 decisions in flight") != std::string::npos, capped.message());
    BOOST_TEST(sink->only("globex").code() == "ok");
    BOOST_TEST(ask(request_json("acme", "later"), "later").code() == "ok");
}

BOOST_FIXTURE_TEST_CASE(a_closed_gate_answers_overloaded_before_any_intake, pipeline_fixture)
{
    gate = std::make_shared<closed_gate>();
    start();
    const auto& refused = ask("{not even json", "gated");
    BOOST_TEST(refused.code() == "overloaded");
    BOOST_TEST(refused.json().at("error").at("retry_after_ms").to_number<int>() == 250);
    BOOST_TEST(refused.message().find("backpressure") != std::string::npos);
    BOOST_TEST(gate->checks == 1);
    gate->closed = false;
    BOOST_TEST(ask(request_json("acme", "r"), "open").code() == "ok");
}

BOOST_FIXTURE_TEST_CASE(a_published_assignment_goes_out_with_an_ok_reply, pipeline_fixture)
{
    start();
    const auto& reply = ask(request_json("acme", "r-1", R"("push_assignment":true)"), "push");
    BOOST_TEST(reply.code() == "ok");
    BOOST_TEST_REQUIRE(publisher->assignments.size() == 1u);
    BOOST_TEST(publisher->assignments[0].subject == "caf.exec.assign.v1");
    auto body = boost::json::parse(publisher->assignments[0].body).as_object();
    BOOST_TEST(body.at("request_id").as_string() == "r-1");
    BOOST_TEST(observer->published_assignments == 1);
}

BOOST_FIXTURE_TEST_CASE(an_assignment_too_large_to_publish_is_a_refusal_and_not_remembered, pipeline_fixture)
{
    start();
    publisher->refuse = {publish_refusal::too_large, "the message is 5000 bytes, over the max_payload of 4096 bytes"};
    const std::string body = request_json("acme", "r-1", R"("push_assignment":true,"idempotency_key":"k-big")");
    const auto& reply = ask(body, "big");
    BOOST_TEST(reply.code() == "invalid_request");
    BOOST_TEST(reply.json().at("error").at("intake_error_code").as_string() == "SCHEMA_VALIDATION_FAILED");
    BOOST_TEST(reply.message().find("not published") != std::string::npos, reply.message());
    BOOST_TEST(reply.message().find("max_payload of 4096") != std::string::npos, reply.message());
    BOOST_TEST(reply.json().at("context").at("request_id").as_string() == "r-1");
    BOOST_TEST(observer->refused_assignments == 1);
    BOOST_TEST(publisher->assignments.empty());
    // Not stored: the retry is decided and pushed again (and published, now that it fits).
    publisher->refuse = {};
    const auto& retry = ask(body, "big.retry");
    BOOST_TEST(!retry.idempotent_replay);
    BOOST_TEST(retry.code() == "ok");
    BOOST_TEST(publisher->assignments.size() == 1u);
}

BOOST_FIXTURE_TEST_CASE(an_assignment_the_transport_cannot_take_now_is_overloaded, pipeline_fixture)
{
    start();
    publisher->refuse = {publish_refusal::unavailable, "not connected to NATS"};
    const auto& reply = ask(request_json("acme", "r-1", R"("push_assignment":true)"), "down");
    BOOST_TEST(reply.code() == "overloaded");
    BOOST_TEST(reply.json().at("error").at("retry_after_ms").to_number<int>() == 1000);
    BOOST_TEST(reply.message().find("not connected") != std::string::npos, reply.message());
}

BOOST_FIXTURE_TEST_CASE(an_exception_inside_a_step_is_one_internal_reply, pipeline_fixture)
{
    observer->throw_on_tenant = true;
    start();
    const auto& reply = ask(request_json("acme", "r-1"), "boom");
    BOOST_TEST(reply.code() == "internal");
    BOOST_TEST(reply.json().at("context").at("request_id").as_string() == "r-1");
    BOOST_TEST(observer->internal_errors == 1);
    BOOST_TEST(pipeline->inflight() == 0u);
}

BOOST_FIXTURE_TEST_CASE(latency_runs_from_submit_to_reply_on_the_injected_clock, pipeline_fixture)
{
    start();
    submit(request_json("acme", "r-1"), "timed");
    clock.advance(3ms);
    settle();
    BOOST_TEST_REQUIRE(observer->latencies.size() == 1u);
    BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(observer->latencies[0]).count() == 3);
    BOOST_TEST_REQUIRE(observer->finished_at.size() == 1u);
    BOOST_TEST((observer->finished_at[0] == clock.now)); // the same reading the latency ends at
}

BOOST_FIXTURE_TEST_CASE(on_one_thread_a_decision_runs_where_it_is_submitted, pipeline_fixture)
{
    // Submitted from outside the io_context: through the tenant's strand the decision waits for a
    // thread to run it; with one_thread it is made inside submit, strand or not.
    start();
    submit(request_json("acme", "r-1"), "through-the-strand");
    BOOST_TEST(sink->replies.empty());
    settle();
    BOOST_TEST(sink->only("through-the-strand").json().at("ok") == true);

    settings.one_thread = true;
    start();
    submit(request_json("acme", "r-2"), "in-place");
    BOOST_TEST_REQUIRE(sink->replies.size() == 2u);
    const auto reply = sink->only("in-place").json();
    BOOST_TEST(reply.at("ok") == true);
    BOOST_TEST(reply.at("context").at("request_id") == "r-2");
    BOOST_TEST(pipeline->inflight() == 0u);
    settle(); // nothing was left queued for it
    BOOST_TEST(sink->replies.size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
