#include "beamline/http/auth.hpp"
#include "beamline/http/route_table.hpp"
#include "beamline/http/server.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

using namespace beamline::http;

namespace
{

response ok(const request&)
{
    return json_response(status::ok, "{}");
}

std::string error_code_of(const response& r)
{
    return std::string(boost::json::parse(r.body).at("error").at("code").as_string());
}

std::string header_of(const response& r, std::string_view name)
{
    for (const auto& [k, v] : r.headers)
        if (k == name) return v;
    return {};
}

} // namespace

BOOST_AUTO_TEST_SUITE(http_route_table)

BOOST_AUTO_TEST_CASE(path_parameters_are_decoded_and_named)
{
    route_table routes;
    routes.add(verb::get, "/v1/policies/{tenant}/{policy}", ok);
    auto r = routes.resolve(verb::get, "/v1/policies/acme%20corp/default");
    BOOST_REQUIRE(std::holds_alternative<route_table::match>(r));
    const auto& m = std::get<route_table::match>(r);
    BOOST_REQUIRE_EQUAL(m.params.size(), 2u);
    BOOST_TEST(m.params[0].first == "tenant");
    BOOST_TEST(m.params[0].second == "acme corp");
    BOOST_TEST(m.params[1].first == "policy");
    BOOST_TEST(m.params[1].second == "default");
}

BOOST_AUTO_TEST_CASE(unknown_path_is_404_and_wrong_method_is_405_with_allow)
{
    route_table routes;
    routes.add(verb::get, "/v1/policies/{tenant}/{policy}", ok);
    routes.add(verb::put, "/v1/policies/{tenant}/{policy}", ok);
    routes.add(verb::delete_, "/v1/policies/{tenant}/{policy}", ok);

    auto missing = routes.resolve(verb::get, "/v1/policies/acme");
    BOOST_REQUIRE(std::holds_alternative<response>(missing));
    BOOST_TEST(static_cast<int>(std::get<response>(missing).status) == 404);
    BOOST_TEST(error_code_of(std::get<response>(missing)) == "not_found");

    auto wrong = routes.resolve(verb::post, "/v1/policies/acme/p");
    BOOST_REQUIRE(std::holds_alternative<response>(wrong));
    const auto& res = std::get<response>(wrong);
    BOOST_TEST(static_cast<int>(res.status) == 405);
    BOOST_TEST(error_code_of(res) == "method_not_allowed");
    BOOST_TEST(header_of(res, "Allow") == "DELETE, GET, HEAD, PUT");
}

BOOST_AUTO_TEST_CASE(literal_segments_beat_parameters_and_head_uses_get)
{
    route_table routes;
    int which = 0;
    routes.add(verb::post, "/v1/policies/{tenant}",
               [&](const request&)
               {
                   which = 1;
                   return json_response(status::ok, "{}");
               });
    routes.add(verb::post, "/v1/policies/reload",
               [&](const request&)
               {
                   which = 2;
                   return json_response(status::ok, "{}");
               });
    routes.add(verb::get, "/healthz", ok);
    auto r = routes.resolve(verb::post, "/v1/policies/reload");
    BOOST_REQUIRE(std::holds_alternative<route_table::match>(r));
    BOOST_TEST(std::get<route_table::match>(r).params.empty());

    auto head = routes.resolve(verb::head, "/healthz");
    BOOST_REQUIRE(std::holds_alternative<route_table::match>(head));
    BOOST_TEST(std::get<route_table::match>(head).head_as_get);
}

BOOST_AUTO_TEST_CASE(a_path_of_invalid_utf8_gets_a_404_whose_body_is_valid_json)
{
    route_table routes;
    routes.add(verb::get, "/v1/policies", ok);
    // A lone continuation byte, an overlong '/', a surrogate and a truncated sequence.
    const std::string path = "/v1/p\x91x\xC0\xAF\xED\xA0\x80\xE2\x82";
    auto r = routes.resolve(verb::get, path);
    BOOST_REQUIRE(std::holds_alternative<response>(r));
    const auto& res = std::get<response>(r);
    BOOST_TEST(res.status == status::not_found);
    boost::system::error_code ec;
    auto body = boost::json::parse(res.body, ec);
    BOOST_TEST_REQUIRE(!ec, "not JSON: " << ec.message());
    const std::string message(body.at("error").at("message").as_string());
    BOOST_TEST(message.find("/v1/p\xEF\xBF\xBDx") != std::string::npos, message);
}

BOOST_AUTO_TEST_CASE(malformed_escapes_and_patterns_are_refused)
{
    route_table routes;
    routes.add(verb::get, "/t/{tenant}", ok);
    auto bad = routes.resolve(verb::get, "/t/%zz");
    BOOST_REQUIRE(std::holds_alternative<response>(bad));
    BOOST_TEST(static_cast<int>(std::get<response>(bad).status) == 400);

    BOOST_CHECK_THROW(routes.add(verb::get, "no-slash", ok), std::invalid_argument);
    BOOST_CHECK_THROW(routes.add(verb::get, "/a/{x}/{x}", ok), std::invalid_argument);
    BOOST_CHECK_THROW(routes.add(verb::get, "/a/{x", ok), std::invalid_argument);
    BOOST_CHECK_THROW(routes.add(verb::get, "/t/{tenant}", ok), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(query_parameters_are_decoded)
{
    request req;
    req.query = "a=1&name=acme+corp%21&flag&a=2";
    BOOST_TEST(req.query_param("a").value() == "1");
    BOOST_TEST(req.query_param("name").value() == "acme corp!");
    BOOST_TEST(req.query_param("flag").value() == "");
    BOOST_TEST(!req.query_param("missing"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(http_bearer_auth)

BOOST_AUTO_TEST_CASE(constant_time_equal_compares_whole_values)
{
    BOOST_TEST(constant_time_equal("s3cret", "s3cret"));
    BOOST_TEST(!constant_time_equal("s3cre", "s3cret"));
    BOOST_TEST(!constant_time_equal("s3cretX", "s3cret"));
    BOOST_TEST(!constant_time_equal("s3creT", "s3cret"));
    BOOST_TEST(!constant_time_equal("", "s3cret"));
}

BOOST_AUTO_TEST_CASE(token_checks_give_401_403_or_pass)
{
    header_fields fields;
    request req;
    req.headers = &fields;

    const bearer_auth disabled(std::nullopt);
    auto refusal = disabled.check(req);
    BOOST_REQUIRE(refusal);
    BOOST_TEST(static_cast<int>(refusal->status) == 403);
    BOOST_TEST(error_code_of(*refusal) == "admin_disabled");
    BOOST_TEST(bearer_auth(std::string()).check(req).has_value()); // empty token also disables

    const bearer_auth auth(std::string("s3cret"));
    refusal = auth.check(req);
    BOOST_REQUIRE(refusal);
    BOOST_TEST(static_cast<int>(refusal->status) == 401);
    BOOST_TEST(header_of(*refusal, "WWW-Authenticate").starts_with("Bearer"));

    fields.set("Authorization", "Basic czNjcmV0");
    BOOST_TEST(static_cast<int>(auth.check(req)->status) == 401);
    fields.set("Authorization", "Bearer wrong");
    BOOST_TEST(static_cast<int>(auth.check(req)->status) == 401);
    fields.set("Authorization", "bearer s3cret");
    BOOST_TEST(!auth.check(req));
}

BOOST_AUTO_TEST_CASE(listen_addresses_parse_or_name_the_cause)
{
    std::string error;
    auto ep = parse_listen_address("0.0.0.0:8080", error);
    BOOST_REQUIRE(ep);
    BOOST_TEST(ep->port() == 8080);
    ep = parse_listen_address("[::1]:0", error);
    BOOST_REQUIRE(ep);
    BOOST_TEST(ep->address().is_v6());
    ep = parse_listen_address("localhost:9", error);
    BOOST_REQUIRE(ep);
    BOOST_TEST(ep->address().is_loopback());

    BOOST_TEST(!parse_listen_address("8080", error));
    BOOST_TEST(error.find("missing port") != std::string::npos);
    BOOST_TEST(!parse_listen_address("1.2.3.4:99999", error));
    BOOST_TEST(error.find("99999") != std::string::npos);
    BOOST_TEST(!parse_listen_address("example.com:80", error));
    BOOST_TEST(error.find("not an IP address") != std::string::npos);
    BOOST_TEST(!parse_listen_address("[::1:80", error));
}

BOOST_AUTO_TEST_SUITE_END()
