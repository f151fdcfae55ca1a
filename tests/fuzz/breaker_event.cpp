// Breaker events from other routers (SPEC §14): any bytes on the subject. Properties: parsing
// refuses with a sentence or yields an event whose ids are valid and whose outcome counts; a
// valid event written back reads back the same.
#include "beamline/router/breaker_event.hpp"
#include "beamline/router/exec_result.hpp"
#include "fuzz_check.hpp"

#include <string>

using beamline::fuzz::check;
namespace router = beamline::router;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view body(reinterpret_cast<const char*>(data), size);
    auto parsed = router::parse_breaker_event(body);
    if (!parsed.event)
    {
        check(!parsed.error.empty(), "a refused event has no sentence");
        return 0;
    }
    const auto& e = *parsed.event;
    check(router::is_printable_id(e.router_id, router::breaker_event_max_id), "router_id not a valid id");
    check(router::is_printable_id(e.tenant_id, router::breaker_event_max_id), "tenant_id not a valid id");
    check(router::is_printable_id(e.provider_id, router::breaker_event_max_id), "provider_id not a valid id");
    check(e.outcome != router::breaker_outcome::ignored, "an ignored outcome was accepted");
    std::string again;
    router::append_breaker_event(again, e);
    auto back = router::parse_breaker_event(again);
    check(back.event.has_value(), "a written event does not read back");
    check(back.event->router_id == e.router_id && back.event->tenant_id == e.tenant_id &&
              back.event->provider_id == e.provider_id && back.event->job_id == e.job_id &&
              back.event->outcome == e.outcome,
          "a written event reads back different");
    return 0;
}
