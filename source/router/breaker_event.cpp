#include "beamline/router/breaker_event.hpp"

#include "beamline/common/json_writer.hpp"
#include "beamline/router/exec_result.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <tuple>

namespace beamline::router
{

namespace json = boost::json;

namespace
{

/// Reads a required (or, when `optional`, possibly absent) id member; an error sentence otherwise.
std::string read_id(const json::object& o, std::string_view key, bool optional, std::string& out)
{
    const json::value* v = o.if_contains(key);
    if (!v || v->is_null()) return optional ? std::string() : std::string(key) + " is required";
    if (!v->is_string()) return std::string(key) + " must be a string";
    out.assign(v->get_string().data(), v->get_string().size());
    if (!is_printable_id(out, breaker_event_max_id))
        return std::string(key) + " must be 1-" + std::to_string(breaker_event_max_id) +
               " printable characters without spaces";
    return {};
}

breaker_event_parse refuse(std::string why)
{
    breaker_event_parse p;
    p.error = std::move(why);
    return p;
}

} // namespace

void append_breaker_event(std::string& out, const breaker_event& e)
{
    out += R"({"version":"1","router_id":)";
    common::append_json_string(out, e.router_id);
    out += R"(,"tenant_id":)";
    common::append_json_string(out, e.tenant_id);
    out += R"(,"provider_id":)";
    common::append_json_string(out, e.provider_id);
    out += R"(,"outcome":)";
    common::append_json_string(out, to_string(e.outcome));
    if (!e.job_id.empty())
    {
        out += R"(,"job_id":)";
        common::append_json_string(out, e.job_id);
    }
    out += '}';
}

breaker_event_parse parse_breaker_event(std::string_view body) noexcept
{
    try
    {
        if (body.size() > breaker_event_max_bytes)
            return refuse("the event is " + std::to_string(body.size()) + " bytes, over " +
                          std::to_string(breaker_event_max_bytes));
        json::error_code ec;
        json::value v = json::parse(body, ec);
        if (ec) return refuse("not JSON: " + ec.message());
        const json::object* o = v.if_object();
        if (!o) return refuse("the event must be a JSON object");
        const json::value* version = o->if_contains("version");
        if (!version || !version->is_string() || version->get_string() != "1")
            return refuse(R"(version must be "1")");

        breaker_event e;
        for (auto [key, field, optional] : {std::tuple{"router_id", &e.router_id, false},
                                            std::tuple{"tenant_id", &e.tenant_id, false},
                                            std::tuple{"provider_id", &e.provider_id, false},
                                            std::tuple{"job_id", &e.job_id, true}})
            if (auto why = read_id(*o, key, optional, *field); !why.empty()) return refuse(std::move(why));

        const json::value* outcome = o->if_contains("outcome");
        if (!outcome || !outcome->is_string()) return refuse("outcome is required, a string");
        if (outcome->get_string() == "success")
            e.outcome = breaker_outcome::success;
        else if (outcome->get_string() == "failure")
            e.outcome = breaker_outcome::failure;
        else
            return refuse(R"(outcome must be "success" or "failure")");
        breaker_event_parse p;
        p.event = std::move(e);
        return p;
    }
    catch (...)
    {
        // Only allocation throws here; the sentence fits the string's own buffer.
        breaker_event_parse p;
        p.error = "out of memory";
        return p;
    }
}

} // namespace beamline::router
