// Policy parsing and `when` conditions: any bytes as a policy file, and any JSON object as the
// routing context its conditions are evaluated against. Properties: parsing refuses with a message
// or yields a policy whose weights add up as documented; evaluation never crashes, whatever types
// the context holds.
#include "beamline/router/policy.hpp"
#include "fuzz_check.hpp"

#include <boost/json/parse.hpp>
#include <fuzzer/FuzzedDataProvider.h>

using beamline::fuzz::check;
namespace router = beamline::router;
namespace json = boost::json;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    FuzzedDataProvider provider(data, size);
    const auto context_text = provider.ConsumeRandomLengthString(512);
    const auto policy_text = provider.ConsumeRemainingBytesAsString();

    auto parsed = router::parse_policy(policy_text, "fuzz");
    if (!parsed)
    {
        check(!parsed.error().message.empty(), "a refused policy has no message");
        return 0;
    }
    const auto& p = *parsed;
    check(p.providers.size() <= router::policy::max_providers, "more providers than the documented cap");
    check(p.cumulative_weights.size() == p.providers.size(), "one running sum per provider");
    check(p.providers.empty() ? p.total_weight == 0 : p.total_weight == p.cumulative_weights.back(),
          "total_weight is not the last running sum");

    boost::system::error_code ec;
    auto context = json::parse(context_text, ec);
    json::object empty;
    const auto& ctx = !ec && context.is_object() ? context.as_object() : empty;
    for (const auto& rule : p.fallbacks)
        (void)rule.when.evaluate(ctx);
    return 0;
}
