// Decide intake fed any bytes a caller may publish, with any `version` and `traceparent` headers.
// Properties: intake never crashes; it gives the same request or refusal as the document path
// (detail::parse_decide_request_dom), member by member; a refusal's ErrorResponse is valid JSON
// (whatever bytes the request id held) and carries the error; an accepted request's reply is valid
// JSON whose context echoes the request id and tenant exactly.
#include "beamline/router/decide_reply.hpp"
#include "beamline/router/decide_request.hpp"
#include "../unit/router/intake_difference.hpp"
#include "fuzz_check.hpp"

#include <boost/json/parse.hpp>
#include <fuzzer/FuzzedDataProvider.h>

using beamline::fuzz::check;
namespace router = beamline::router;
namespace json = boost::json;

namespace
{

json::object parsed_reply(const std::string& text)
{
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    check(!ec && v.is_object(), "a reply is not a JSON object");
    return v.as_object();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    static const router::intake_limits limits = []
    {
        router::intake_limits l;
        l.max_payload = 64 * 1024;
        l.tenants = router::tenant_allow_list({"acme", "globex"});
        return l;
    }();
    FuzzedDataProvider provider(data, size);
    const bool with_version = provider.ConsumeBool();
    const auto version = provider.ConsumeRandomLengthString(8);
    const bool with_traceparent = provider.ConsumeBool();
    const auto traceparent = provider.ConsumeRandomLengthString(64);
    const auto body = provider.ConsumeRemainingBytesAsString();

    router::request_meta meta;
    meta.subject = "beamline.router.v1.decide";
    if (with_version) meta.version = version;
    if (with_traceparent) meta.traceparent = traceparent;
    auto result = router::parse_decide_request(body, meta, limits);
    const std::string difference =
        router::test::intake_difference(result, router::detail::parse_decide_request_dom(body, meta, limits));
    if (!difference.empty())
        beamline::fuzz::property_failed("intake and the document path disagree: " + difference);

    std::string reply;
    if (!result.ok())
    {
        router::append_intake_error(reply, result.error());
        auto o = parsed_reply(reply);
        check(o.at("ok") == false && o.contains("error"), "an intake refusal does not say ok:false with an error");
        return 0;
    }
    const auto& request = result.request();
    router::decision d;
    d.provider_id = "openai";
    d.policy_id = request.policy_id;
    d.policy_version = "1";
    router::append_decide_success(reply, d, router::context_of(request));
    auto o = parsed_reply(reply);
    const auto& context = o.at("context").as_object();
    check(context.at("request_id").as_string() == request.request_id, "the reply does not echo the request id");
    check(context.at("tenant_id").as_string() == request.tenant_id, "the reply does not echo the tenant id");
    check(o.at("decision").at("policy_id").as_string() == request.policy_id, "the reply changed the policy id");
    return 0;
}
