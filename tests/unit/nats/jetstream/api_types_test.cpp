#include <beamline/nats/jetstream/api_types.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

using namespace beamline::nats::jetstream;
namespace json = boost::json;

BOOST_AUTO_TEST_SUITE(jetstream_api_types)

BOOST_AUTO_TEST_CASE(adr7_error_keeps_err_code_and_description)
{
    json::object o;
    api_error err;
    auto ec = parse_api_reply(
        R"({"type":"io.nats.jetstream.api.v1.stream_info_response","error":{"code":404,"err_code":10059,"description":"stream not found"}})",
        o, err);
    BOOST_TEST(ec == js_errc::stream_not_found);
    BOOST_TEST(ec.category().name() == std::string("nats.jetstream"));
    BOOST_TEST(err.code == 404);
    BOOST_TEST(err.err_code == 10059);
    BOOST_TEST(err.text() == "stream not found (err_code 10059)");
    BOOST_TEST(describe(ec, err) == "stream not found (err_code 10059)");
    BOOST_TEST(ec.message() == "stream not found (err_code 10059)");
}

BOOST_AUTO_TEST_CASE(unknown_err_code_is_kept_with_the_servers_words)
{
    json::object o;
    api_error err;
    auto ec = parse_api_reply(R"({"error":{"code":400,"err_code":10999,"description":"something odd"}})", o, err);
    BOOST_TEST(ec.value() == 10999);
    BOOST_TEST(err.text() == "something odd (err_code 10999)");
    BOOST_TEST(ec.message() == "JetStream API error (err_code 10999)");
}

BOOST_AUTO_TEST_CASE(error_without_err_code_uses_the_status)
{
    json::object o;
    api_error err;
    auto ec = parse_api_reply(R"({"error":{"code":503,"description":"JetStream system temporarily unavailable"}})", o, err);
    BOOST_TEST(ec.value() == 503);
    BOOST_TEST(err.text() == "JetStream system temporarily unavailable (status 503)");
}

BOOST_AUTO_TEST_CASE(replies_that_are_not_json_objects_are_invalid)
{
    for (const char* bad : {"", "not json", "[1,2]", "\"x\"", "{\"unterminated\":"})
    {
        json::object o;
        api_error err;
        BOOST_TEST(parse_api_reply(bad, o, err) == js_errc::invalid_reply);
    }
}

BOOST_AUTO_TEST_CASE(pub_ack_and_duplicate)
{
    auto a = parse_pub_ack(R"({"stream":"T","seq":7})");
    BOOST_TEST_REQUIRE(!a.ec);
    BOOST_TEST(a.value.stream == "T");
    BOOST_TEST(a.value.seq == 7u);
    BOOST_TEST(!a.value.duplicate);
    auto d = parse_pub_ack(R"({"stream":"T","seq":7,"duplicate":true,"domain":"hub"})");
    BOOST_TEST_REQUIRE(!d.ec);
    BOOST_TEST(d.value.duplicate);
    BOOST_TEST(d.value.domain == "hub");
    BOOST_TEST(parse_pub_ack(R"({"seq":7})").ec == js_errc::invalid_reply);
    BOOST_TEST(parse_pub_ack(R"({"stream":"T","seq":"seven"})").ec == js_errc::invalid_reply);
    auto e = parse_pub_ack(R"({"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 3"}})");
    BOOST_TEST(e.ec == js_errc::wrong_last_sequence);
    BOOST_TEST(e.error_text() == "wrong last sequence: 3 (err_code 10071)");
}

BOOST_AUTO_TEST_CASE(stream_info_round_trips_the_config)
{
    stream_config c;
    c.name = "ORDERS";
    c.subjects = {"orders.>", "returns.*"};
    c.max_age = std::chrono::hours(24);
    c.duplicate_window = std::chrono::minutes(2);
    c.storage = "memory";
    json::object reply;
    reply["config"] = json::parse(to_json(c));
    reply["state"] = json::parse(R"({"messages":3,"bytes":120,"first_seq":1,"last_seq":3,"consumer_count":2})");
    reply["created"] = "2026-01-01T00:00:00Z";
    stream_info info;
    BOOST_TEST_REQUIRE(!from_json(reply, info));
    BOOST_TEST(info.config.name == "ORDERS");
    BOOST_TEST((info.config.subjects == c.subjects));
    BOOST_TEST(info.config.max_age.count() == c.max_age.count());
    BOOST_TEST(info.config.duplicate_window.count() == 120000);
    BOOST_TEST(info.config.storage == "memory");
    BOOST_TEST(info.state.messages == 3u);
    BOOST_TEST(info.state.last_seq == 3u);
    BOOST_TEST(info.state.consumer_count == 2);
    // Durations go out in nanoseconds.
    BOOST_TEST(json::parse(to_json(c)).as_object().at("max_age").to_number<std::int64_t>() == 86400000000000LL);
}

BOOST_AUTO_TEST_CASE(consumer_request_and_info)
{
    consumer_config c;
    c.durable_name = "router-results";
    c.ack_wait = std::chrono::seconds(30);
    c.max_deliver = 5;
    c.backoff = {std::chrono::seconds(1), std::chrono::seconds(5)};
    json::object req = json::parse(consumer_create_request("RESULTS", c)).as_object();
    BOOST_TEST(req.at("stream_name").as_string() == "RESULTS");
    const auto& cfg = req.at("config").as_object();
    BOOST_TEST(cfg.at("durable_name").as_string() == "router-results");
    BOOST_TEST(cfg.at("ack_wait").to_number<std::int64_t>() == 30000000000LL);
    BOOST_TEST(cfg.at("backoff").as_array().size() == 2u);

    json::object info = json::parse(R"({"stream_name":"RESULTS","name":"router-results",
        "config":{"durable_name":"router-results","ack_policy":"explicit","max_deliver":5,"backoff":[1000000000]},
        "delivered":{"consumer_seq":4,"stream_seq":9},"ack_floor":{"consumer_seq":3,"stream_seq":8},
        "num_ack_pending":1,"num_redelivered":2,"num_waiting":1,"num_pending":10})").as_object();
    consumer_info ci;
    BOOST_TEST_REQUIRE(!from_json(info, ci));
    BOOST_TEST(ci.name == "router-results");
    BOOST_TEST(ci.config.max_deliver == 5);
    BOOST_TEST(ci.config.backoff.size() == 1u);
    BOOST_TEST(ci.delivered.stream_seq == 9u);
    BOOST_TEST(ci.num_pending == 10u);
    BOOST_TEST(ci.num_redelivered == 2u);
    consumer_info nameless;
    BOOST_TEST(from_json(json::parse(R"({"stream_name":"S"})").as_object(), nameless) == js_errc::invalid_reply);
}

BOOST_AUTO_TEST_CASE(a_number_that_does_not_fit_its_field_is_an_invalid_reply)
{
    // Found by the jetstream_api_reply fuzz target: a double out of a field's range was cast
    // (undefined behaviour), and a fractional backoff made to_number throw out of from_json.
    for (const char* bad : {R"({"stream":"T","seq":3.3e70})", R"({"stream":"T","seq":-1})",
                            R"({"stream":"T","seq":1.5})", R"({"stream":"T","seq":1.8446744073709552e19})"})
    {
        auto a = parse_pub_ack(bad);
        BOOST_TEST(a.ec == js_errc::invalid_reply, bad);
    }
    auto whole = parse_pub_ack(R"({"stream":"T","seq":7.0})");
    BOOST_TEST_REQUIRE(!whole.ec);
    BOOST_TEST(whole.value.seq == 7u);

    stream_config c;
    BOOST_TEST(from_json(json::parse(R"({"name":"S","num_replicas":4294967297})").as_object(), c) ==
               js_errc::invalid_reply);
    BOOST_TEST(from_json(json::parse(R"({"name":"S","max_age":1e300})").as_object(), c) == js_errc::invalid_reply);
    for (const char* backoff : {"[1.5]", "[1e300]", "[18446744073709551615]"})
    {
        consumer_info ci;
        auto info = json::parse(std::string(R"({"name":"c","config":{"backoff":)") + backoff + "}}").as_object();
        BOOST_TEST(from_json(info, ci) == js_errc::invalid_reply, backoff);
    }
}

BOOST_AUTO_TEST_CASE(stored_message_is_base64_decoded)
{
    json::object o = json::parse(R"({"message":{"subject":"t.x","seq":4,"hdrs":"TkFUUy8xLjANCktWOiAxDQoNCg==","data":"aGk=","time":"t"}})").as_object();
    stored_message m;
    BOOST_TEST_REQUIRE(!from_json(o, m));
    BOOST_TEST(m.subject == "t.x");
    BOOST_TEST(m.seq == 4u);
    BOOST_TEST(m.data == "hi");
    BOOST_TEST(m.header_block == "NATS/1.0\r\nKV: 1\r\n\r\n");
    json::object bad = json::parse(R"({"message":{"subject":"t.x","seq":4,"data":"a!b"}})").as_object();
    BOOST_TEST(from_json(bad, m) == js_errc::invalid_reply);
}

BOOST_AUTO_TEST_CASE(base64)
{
    std::string out;
    BOOST_TEST((base64_decode("", out) && out.empty()));
    BOOST_TEST((base64_decode("Zm9vYmFy", out) && out == "foobar"));
    BOOST_TEST((base64_decode("Zm9vYg==", out) && out == "foob"));
    BOOST_TEST((base64_decode("Zm9vYg", out) && out == "foob"));
    BOOST_TEST(!base64_decode("Zm9v=Yg", out));
    BOOST_TEST(!base64_decode("Zm9v YmFy", out));
}

BOOST_AUTO_TEST_CASE(names)
{
    BOOST_TEST(valid_name("ORDERS"));
    BOOST_TEST(valid_name("KV_config-1"));
    for (const char* bad : {"", "a.b", "a*", "a>", "a b", "a\tb", "a/b"})
        BOOST_TEST(!valid_name(bad));
}

BOOST_AUTO_TEST_SUITE_END()
