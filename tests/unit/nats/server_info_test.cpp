#include <beamline/nats/error.hpp>
#include <beamline/nats/protocol/server_info.hpp>
#include <boost/test/unit_test.hpp>
#include <string>

using namespace beamline::nats;
using namespace beamline::nats::protocol;

BOOST_AUTO_TEST_SUITE(nats_server_info)

BOOST_AUTO_TEST_CASE(fields_of_a_real_info)
{
    const std::string json =
        R"({"server_id":"NCXX","server_name":"n1","version":"2.9.10","proto":1,"go":"go1.19","host":"0.0.0.0",)"
        R"("port":4222,"headers":true,"max_payload":1048576,"client_id":5,"client_ip":"127.0.0.1",)"
        R"("auth_required":true,"tls_required":false,"tls_available":true,"jetstream":true,"ldm":true,)"
        R"("nonce":"abc","connect_urls":["10.0.0.1:4222","10.0.0.2:4222"],"unknown_field":{"x":[1]}})";
    server_info info;
    auto ec = parse_server_info(json, info);
    BOOST_TEST_REQUIRE(!ec, ec.message());
    BOOST_TEST(info.server_id == "NCXX");
    BOOST_TEST(info.server_name == "n1");
    BOOST_TEST(info.version == "2.9.10");
    BOOST_TEST(info.proto == 1);
    BOOST_TEST(info.port == 4222);
    BOOST_TEST(info.headers);
    BOOST_TEST(info.max_payload == 1048576);
    BOOST_TEST(info.client_id == 5u);
    BOOST_TEST(info.client_ip == "127.0.0.1");
    BOOST_TEST(info.auth_required);
    BOOST_TEST(!info.tls_required);
    BOOST_TEST(info.tls_available);
    BOOST_TEST(info.jetstream);
    BOOST_TEST(info.lame_duck_mode);
    BOOST_TEST(info.nonce == "abc");
    BOOST_TEST_REQUIRE(info.connect_urls.size() == 2u);
    BOOST_TEST(info.connect_urls[1] == "10.0.0.2:4222");
}

BOOST_AUTO_TEST_CASE(defaults_for_missing_fields)
{
    server_info info;
    BOOST_TEST_REQUIRE(!parse_server_info("{}", info));
    BOOST_TEST(!info.headers);
    BOOST_TEST(info.max_payload == 1024 * 1024);
    BOOST_TEST(info.connect_urls.empty());
}

BOOST_AUTO_TEST_CASE(bad_info_is_rejected_and_leaves_the_previous_one)
{
    for (std::string_view json : {"", "not json", "[]", "{\"headers\":1}", "{\"port\":\"4222\"}",
                                  "{\"connect_urls\":\"x\"}", "{\"connect_urls\":[1]}", "{\"max_payload\":0}",
                                  "{\"max_payload\":-5}", "{\"server_id\":\"a\"} trailing"})
    {
        server_info info;
        info.server_id = "previous";
        auto ec = parse_server_info(json, info);
        BOOST_TEST(ec == make_error_code(errc::invalid_info), json);
        BOOST_TEST(info.server_id == "previous");
    }
}

BOOST_AUTO_TEST_SUITE_END()
