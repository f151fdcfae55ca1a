#pragma once
// Requests and checks shared by the decide contract tests.

#include "beamline/router/decide_request.hpp"
#include "intake_difference.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <string>

namespace beamline::router::test
{

inline constexpr std::string_view decide_subject = "beamline.router.v1.decide";

/// A request that passes intake; tests change one thing at a time.
inline boost::json::object valid_request()
{
    return boost::json::parse(R"({"version":"1","request_id":"r-1","tenant_id":"acme",
        "task":{"type":"text.generate","payload":{"prompt":"hello"}}})")
        .as_object();
}

inline intake_result parse_request(const boost::json::object& request, request_meta meta = {decide_subject},
                                   const intake_limits& limits = {})
{
    const std::string body = boost::json::serialize(request);
    auto r = parse_decide_request(body, meta, limits);
    // Every request the contract tests send is read by the document path too, which must agree.
    const std::string difference = intake_difference(r, detail::parse_decide_request_dom(body, meta, limits));
    BOOST_TEST(difference.empty(), difference);
    return r;
}

/// Checks the request was refused with `code` and that the message names `field`.
inline void check_refused(const intake_result& r, intake_code code, std::string_view field)
{
    BOOST_TEST_REQUIRE(!r.ok());
    BOOST_TEST(to_string(r.error().code) == to_string(code));
    BOOST_TEST(r.error().message.find(field) != std::string::npos,
               "message \"" << r.error().message << "\" names " << field);
}

} // namespace beamline::router::test
