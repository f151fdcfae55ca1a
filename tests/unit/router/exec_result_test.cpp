#include "beamline/router/exec_result.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <string>

using namespace beamline::router;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace
{

constexpr std::int64_t now_ms = 1'706'371'200'000;

constexpr std::string_view good =
    R"({"version":"1","assignment_id":"a-1","request_id":"r-1","tenant_id":"acme","provider_id":"openai",)"
    R"("status":"error","job":{"type":"text.generate"},"latency_ms":200,"cost":0.5,"error_code":"TIMEOUT",)"
    R"("trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","timestamp":1706371200123})";

exec_result accept(std::string_view body, const result_headers& h = {})
{
    auto r = parse_exec_result(body, h, now_ms);
    if (auto* rej = std::get_if<result_rejection>(&r)) BOOST_FAIL("refused: " << rej->message << " for " << body);
    return std::get<exec_result>(r);
}

std::string refusal(std::string_view body, const result_headers& h = {}, const result_limits& limits = {})
{
    auto r = parse_exec_result(body, h, now_ms, limits);
    if (std::holds_alternative<exec_result>(r)) BOOST_FAIL("accepted: " << body);
    const auto& rej = std::get<result_rejection>(r);
    BOOST_TEST(rej.reason == "INVALID_RESULT");
    return rej.message;
}

/// `good` with one member replaced (or removed when `value` is empty).
std::string with(std::string_view key, std::string_view value)
{
    json::object o = json::parse(good).as_object();
    if (value.empty())
        o.erase(key);
    else
        o[key] = json::parse(value);
    return json::serialize(o);
}

} // namespace

BOOST_AUTO_TEST_SUITE(exec_result_suite)

BOOST_AUTO_TEST_CASE(a_full_result_is_read_field_by_field)
{
    auto r = accept(good);
    BOOST_TEST(r.assignment_id == "a-1");
    BOOST_TEST(r.request_id == "r-1");
    BOOST_TEST(r.tenant_id == "acme");
    BOOST_TEST(r.provider_id == "openai");
    BOOST_TEST(to_string(r.status) == "error");
    BOOST_TEST(r.job_type == "text.generate");
    BOOST_TEST(*r.latency_ms == 200.0);
    BOOST_TEST(*r.cost == 0.5);
    BOOST_TEST(r.error_code == "TIMEOUT");
    BOOST_TEST(r.timestamp_ms == 1706371200123);
    BOOST_TEST(r.job_id() == "a-1");
}

BOOST_AUTO_TEST_CASE(headers_win_over_the_payload)
{
    result_headers h;
    h.tenant_id = "globex";
    h.trace_id = "00000000-0000-4000-8000-000000000001";
    h.version = "1";
    auto r = accept(with("version", "\"2\""), h);
    BOOST_TEST(r.tenant_id == "globex");
    BOOST_TEST(r.trace_id == "00000000-0000-4000-8000-000000000001");
    h.version = "2";
    BOOST_TEST(refusal(good, h) == "version \"2\" is not supported");
    result_headers bad_tenant;
    bad_tenant.tenant_id = "no spaces";
    BOOST_TEST(refusal(good, bad_tenant) == "tenant_id must be 1-64 of [A-Za-z0-9_.-]");
}

BOOST_AUTO_TEST_CASE(either_id_is_enough_and_one_is_needed)
{
    BOOST_TEST(accept(with("assignment_id", "")).job_id() == "r-1");
    BOOST_TEST(accept(with("request_id", "")).job_id() == "a-1");
    json::object o = json::parse(good).as_object();
    o.erase("assignment_id");
    o.erase("request_id");
    BOOST_TEST(refusal(json::serialize(o)) == "a result needs assignment_id or request_id");
}

BOOST_AUTO_TEST_CASE(every_broken_rule_is_refused_with_a_sentence)
{
    BOOST_TEST(refusal("not json").find("result is not valid JSON") == 0u);
    BOOST_TEST(refusal("[1]") == "result must be a JSON object");
    BOOST_TEST(refusal(with("version", "")) == "version is missing");
    BOOST_TEST(refusal(with("tenant_id", "")) == "tenant_id is missing");
    BOOST_TEST(refusal(with("tenant_id", "7")) == "tenant_id must be a string");
    BOOST_TEST(refusal(with("provider_id", "")) == "provider_id is missing");
    BOOST_TEST(refusal(with("status", "\"canceled\"")) ==
               "status \"canceled\" is not one of success, error, timeout, cancelled");
    BOOST_TEST(refusal(with("status", "")) == "status is missing");
    BOOST_TEST(refusal(with("job", "\"x\"")) == "job must be an object");
    BOOST_TEST(refusal(with("job", R"({"type":3})")) == "job.type must be a string");
    BOOST_TEST(refusal(with("latency_ms", "-1")) == "latency_ms must be a finite number >= 0");
    BOOST_TEST(refusal(with("cost", "\"0.1\"")) == "cost must be a number");
    BOOST_TEST(refusal(with("trace_id", "\"xyz\"")) == "trace_id must be 32 hex characters or a UUID");
    BOOST_TEST(refusal(with("timestamp", "-5")) == "timestamp must be a whole number of milliseconds >= 0");
    BOOST_TEST(refusal(with("timestamp", "1.5")) == "timestamp must be a whole number of milliseconds >= 0");
    BOOST_TEST(refusal(with("assignment_id", "\"a b\"")).find("assignment_id must be") == 0u);
    BOOST_TEST(refusal(with("request_id", "\"a\\nb\"")).find("request_id must be") == 0u);
    BOOST_TEST(refusal(with("request_id", '"' + std::string(129, 'x') + '"')).find("request_id must be 1-128") == 0u);
    result_limits small;
    small.max_payload = 10;
    BOOST_TEST(refusal(good, {}, small).find("over the limit of 10") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(absent_optionals_stay_absent_and_timestamp_defaults_to_now)
{
    json::object o = json::parse(good).as_object();
    for (auto k : {"job", "latency_ms", "cost", "error_code", "trace_id", "timestamp"}) o.erase(k);
    o["status"] = "success";
    o["latency_ms"] = nullptr; // null means absent
    auto r = accept(json::serialize(o));
    BOOST_TEST(r.timestamp_ms == now_ms);
    BOOST_TEST(!r.latency_ms.has_value());
    BOOST_TEST(r.job_type.empty());

    std::string usage;
    append_usage_event(usage, r);
    auto ev = json::parse(usage).as_object();
    BOOST_TEST(ev.size() == 8u); // version usage_id tenant provider status assignment request timestamp
    BOOST_TEST(!ev.contains("event_type"));
    BOOST_TEST(!ev.contains("cost"));
    BOOST_TEST(usage.find("undefined") == std::string::npos);
    BOOST_TEST(usage.find("null") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_usage_event_carries_every_known_field)
{
    auto r = accept(good);
    std::string usage;
    append_usage_event(usage, r);
    auto ev = json::parse(usage).as_object();
    BOOST_TEST(ev.at("version").as_string() == "1");
    BOOST_TEST(ev.at("usage_id").as_string() == "usage-acme-a-1");
    BOOST_TEST(ev.at("tenant_id").as_string() == "acme");
    BOOST_TEST(ev.at("provider_id").as_string() == "openai");
    BOOST_TEST(ev.at("event_type").as_string() == "text.generate");
    BOOST_TEST(ev.at("status").as_string() == "error");
    BOOST_TEST(ev.at("latency_ms").to_number<double>() == 200.0);
    BOOST_TEST(ev.at("cost").to_number<double>() == 0.5);
    BOOST_TEST(ev.at("assignment_id").as_string() == "a-1");
    BOOST_TEST(ev.at("request_id").as_string() == "r-1");
    BOOST_TEST(ev.at("trace_id").as_string() == "4bf92f3577b34da6a3ce929d0e0e4736");
    BOOST_TEST(ev.at("timestamp").as_int64() == 1706371200123);
    BOOST_TEST(usage_id_of(accept(with("assignment_id", ""))) == "usage-acme-r-1");
}

BOOST_AUTO_TEST_CASE(dead_letter_ids_and_retry_delays)
{
    BOOST_TEST(dead_letter_id("BEAMLINE_RESULTS", 42) == "dlq-BEAMLINE_RESULTS-42");
    BOOST_TEST(metering_retry_delay(0).count() == 1000);
    BOOST_TEST(metering_retry_delay(1).count() == 1000);
    BOOST_TEST(metering_retry_delay(2).count() == 2000);
    BOOST_TEST(metering_retry_delay(3).count() == 4000);
    BOOST_TEST(metering_retry_delay(5).count() == 16000);
    BOOST_TEST(metering_retry_delay(6).count() == 30000);
    BOOST_TEST(metering_retry_delay(1000).count() == 30000);
}

BOOST_AUTO_TEST_SUITE_END()
