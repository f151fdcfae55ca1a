#include <beamline/nats/protocol/encoder.hpp>
#include <beamline/nats/protocol/headers.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <string>

using namespace beamline::nats;
using namespace beamline::nats::protocol;
namespace json = boost::json;

namespace
{

/// The JSON object of a `CONNECT {...}\r\n` line.
json::object connect_json(const std::string& line)
{
    BOOST_TEST_REQUIRE(line.rfind("CONNECT ", 0) == 0u);
    BOOST_TEST_REQUIRE(line.size() > 10u);
    BOOST_TEST_REQUIRE(line.substr(line.size() - 2) == "\r\n");
    boost::system::error_code ec;
    auto v = json::parse(std::string_view(line).substr(8, line.size() - 10), ec);
    BOOST_TEST_REQUIRE(!ec, ec.message());
    BOOST_TEST_REQUIRE(v.is_object());
    return v.get_object();
}

} // namespace

BOOST_AUTO_TEST_SUITE(nats_encoder)

BOOST_AUTO_TEST_CASE(connect_defaults)
{
    connect_info info;
    info.version = "1.2.3";
    std::string out;
    encode_connect(out, info);
    BOOST_TEST(out == "CONNECT {\"verbose\":false,\"pedantic\":false,\"tls_required\":false,\"echo\":true,"
                      "\"headers\":true,\"no_responders\":true,\"lang\":\"cpp\",\"version\":\"1.2.3\","
                      "\"protocol\":1}\r\n");
    auto o = connect_json(out);
    BOOST_TEST(!o.contains("user"));
    BOOST_TEST(!o.contains("pass"));
    BOOST_TEST(!o.contains("auth_token"));
    BOOST_TEST(!o.contains("name"));
}

BOOST_AUTO_TEST_CASE(connect_escapes_every_string)
{
    connect_info info;
    info.name = "router \"blue\"\\1\n";
    info.user = std::string("u\x01\x1f\t", 4);
    info.pass = "p\"a\r\bs\fs";
    info.auth_token = "t\\k";
    info.version = "0.1";
    info.echo = false;
    info.tls_required = true;
    std::string out;
    encode_connect(out, info);
    auto o = connect_json(out);
    BOOST_TEST(o.at("name").as_string() == info.name);
    BOOST_TEST(o.at("user").as_string() == info.user);
    BOOST_TEST(o.at("pass").as_string() == info.pass);
    BOOST_TEST(o.at("auth_token").as_string() == info.auth_token);
    BOOST_TEST(o.at("echo").as_bool() == false);
    BOOST_TEST(o.at("tls_required").as_bool() == true);
    BOOST_TEST(o.at("protocol").as_int64() == 1);
    // The line itself must stay one line.
    BOOST_TEST(out.find('\n') == out.size() - 1);
}

BOOST_AUTO_TEST_CASE(connect_without_headers_disables_no_responders)
{
    connect_info info;
    info.headers = false;
    std::string out;
    encode_connect(out, info);
    auto o = connect_json(out);
    BOOST_TEST(o.at("headers").as_bool() == false);
    BOOST_TEST(o.at("no_responders").as_bool() == false);
}

BOOST_AUTO_TEST_CASE(connect_strings_use_the_common_json_writer)
{
    connect_info info;
    info.name = std::string("a\"b\\c\x7f\x00", 7);
    std::string out;
    encode_connect(out, info);
    BOOST_TEST(out.find(R"("name":"a\"b\\c\u007f\u0000")") != std::string::npos, out);
    BOOST_TEST(connect_json(out).at("name").as_string() == info.name);
}

BOOST_AUTO_TEST_CASE(pub_golden)
{
    std::string out;
    encode_pub(out, "FOO", "", "Hello NATS!");
    BOOST_TEST(out == "PUB FOO 11\r\nHello NATS!\r\n");
    out.clear();
    encode_pub(out, "FRONT.DOOR", "JOKE.22", "Knock Knock");
    BOOST_TEST(out == "PUB FRONT.DOOR JOKE.22 11\r\nKnock Knock\r\n");
    out.clear();
    encode_pub(out, "NOTIFY", "", "");
    BOOST_TEST(out == "PUB NOTIFY 0\r\n\r\n");
}

BOOST_AUTO_TEST_CASE(hpub_matches_the_protocol_document)
{
    headers h;
    h.add("Bar", "Baz");
    std::string block;
    h.encode(block);
    std::string out;
    encode_hpub(out, "FOO", "", block, "Hello NATS!");
    BOOST_TEST(out == "HPUB FOO 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n");

    headers meals;
    meals.add("BREAKFAST", "donut").add("LUNCH", "burger");
    block.clear();
    meals.encode(block);
    out.clear();
    encode_hpub(out, "FRONT.DOOR", "JOKE.22", block, "Knock Knock");
    BOOST_TEST(out == "HPUB FRONT.DOOR JOKE.22 45 56\r\nNATS/1.0\r\nBREAKFAST: donut\r\nLUNCH: burger\r\n\r\n"
                      "Knock Knock\r\n");
}

BOOST_AUTO_TEST_CASE(sub_unsub_ping_pong_golden)
{
    std::string out;
    encode_sub(out, "FOO", "", 1);
    encode_sub(out, "BAR", "G1", 44);
    encode_unsub(out, 1);
    encode_unsub(out, 44, 5);
    encode_ping(out);
    encode_pong(out);
    // Frames append, so several can be coalesced into one write.
    BOOST_TEST(out == "SUB FOO 1\r\nSUB BAR G1 44\r\nUNSUB 1\r\nUNSUB 44 5\r\nPING\r\nPONG\r\n");
}

BOOST_AUTO_TEST_CASE(large_numbers)
{
    std::string out;
    encode_unsub(out, 18446744073709551615ull, 0);
    BOOST_TEST(out == "UNSUB 18446744073709551615 0\r\n");
}

BOOST_AUTO_TEST_SUITE_END()
