// An ExecResult as the execution tier (or anyone who can publish on its subject) sends it, with
// any version, tenant and trace headers. Properties: a refusal has a reason and a sentence; an
// accepted result names its job, tenant and provider within the limits, and becomes a usage event
// that is a JSON object carrying the usage id, tenant and provider exactly.
#include "beamline/router/exec_result.hpp"
#include "fuzz_check.hpp"

#include <boost/json/parse.hpp>
#include <fuzzer/FuzzedDataProvider.h>

#include <variant>

using beamline::fuzz::check;
namespace router = beamline::router;
namespace json = boost::json;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const router::result_limits limits = []
    {
        router::result_limits l;
        l.max_payload = 64 * 1024;
        l.max_text_length = 256;
        return l;
    }();
    FuzzedDataProvider provider(data, size);
    const std::int64_t now_ms = provider.ConsumeIntegral<std::int64_t>();
    const bool with_version = provider.ConsumeBool();
    const auto version = provider.ConsumeRandomLengthString(8);
    const bool with_tenant = provider.ConsumeBool();
    const auto tenant = provider.ConsumeRandomLengthString(80);
    const bool with_trace = provider.ConsumeBool();
    const auto trace = provider.ConsumeRandomLengthString(40);
    const auto body = provider.ConsumeRemainingBytesAsString();

    router::result_headers headers;
    if (with_version) headers.version = version;
    if (with_tenant) headers.tenant_id = tenant;
    if (with_trace) headers.trace_id = trace;
    auto intake = router::parse_exec_result(body, headers, now_ms, limits);

    if (const auto* refused = std::get_if<router::result_rejection>(&intake))
    {
        check(!refused->reason.empty() && !refused->message.empty(), "a refusal has no reason or no sentence");
        return 0;
    }
    const auto& r = std::get<router::exec_result>(intake);
    check(!r.job_id().empty() && r.job_id().size() <= limits.max_id_length, "an accepted result's job id");
    check(!r.tenant_id.empty() && !r.provider_id.empty(), "an accepted result without tenant or provider");
    check(!with_tenant || r.tenant_id == tenant, "the tenant header did not win");
    check(r.error_message.size() <= limits.max_text_length, "an error message over the limit");
    check(r.timestamp_ms >= 0 || r.timestamp_ms == now_ms, "a negative timestamp from the payload");

    std::string event;
    router::append_usage_event(event, r);
    boost::system::error_code ec;
    auto v = json::parse(event, ec);
    check(!ec && v.is_object(), "a usage event is not a JSON object");
    const auto& o = v.as_object();
    check(o.at("usage_id").as_string() == router::usage_id_of(r), "the usage event's id is not usage_id_of");
    check(o.at("tenant_id").as_string() == r.tenant_id, "the usage event changed the tenant");
    check(o.at("provider_id").as_string() == r.provider_id, "the usage event changed the provider");
    check(o.at("timestamp").as_int64() == r.timestamp_ms, "the usage event changed the timestamp");
    return 0;
}
